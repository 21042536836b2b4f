// The main journeys in a real browser against a real server on a fresh data directory:
// the administrator enrolls from the first start's link and adds a data protection officer;
// a student registers with a consent, sees their data, withdraws the consent, asks for a copy;
// the officer answers it; the student downloads the copy, asks for erasure, and can no longer
// sign in. The student's browser has JavaScript turned off the whole way. Every page is
// photographed in each language into e2e/screenshots/.
//
// Run by `cargo test` (crates/vintrova/tests/cli.rs) with VINTROVA_BIN set; by hand:
//   cargo build -p vintrova && cd e2e && npm ci && VINTROVA_BIN=../target/debug/vintrova npm test

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import crypto from 'node:crypto';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
const BIN = process.env.VINTROVA_BIN ?? join(here, '..', 'target', 'debug', 'vintrova');
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const SHOTS = join(here, 'screenshots');
const LANGS = ['ru', 'kk', 'en'];
const PASSWORD = 'Пароль-для-проверки-2026';
const STUDENT = { name: 'Айдана', email: 'aidana.browser.journey@mail.kz', password: 'Пароль-Айданы-2026' };

/** RFC 6238 code for a base32 secret, `ahead` steps into the future (the server accepts one
 * step of skew, so a fresh code need not wait for the next half-minute). */
function totp(secret, ahead = 0) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const c of secret.replace(/=+$/, '')) bits += alphabet.indexOf(c).toString(2).padStart(5, '0');
  const key = Buffer.from(bits.match(/.{8}/g).map((b) => parseInt(b, 2)));
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(Date.now() / 1000 / 30) + ahead));
  const mac = crypto.createHmac('sha1', key).update(counter).digest();
  const offset = mac[mac.length - 1] & 15;
  return String((mac.readUInt32BE(offset) & 0x7fffffff) % 1_000_000).padStart(6, '0');
}

/** Today in Almaty (UTC+5), as a date input wants it. */
function almatyToday() {
  return new Date(Date.now() + 5 * 3600 * 1000).toISOString().slice(0, 10);
}

/** Start `vintrova serve` over TLS on a fresh data directory; resolve with its address and the
 * administrator's enrollment link once it says it is serving. */
function startServer(dataDir) {
  const env = { ...process.env, VINTROVA_LOG: 'warn' };
  delete env.VINTROVA_DATABASE_URL;
  const server = spawn(BIN, ['--data-dir', dataDir, 'serve', '--listen', '127.0.0.1:0', '--self-signed'], {
    env,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  return new Promise((resolve, reject) => {
    let seen = '';
    server.stderr.on('data', (chunk) => {
      seen += chunk.toString();
      const serving = seen.match(/serving on (https:\/\/[0-9.:]+) /);
      const link = seen.match(/(https:\/\/\S+\/staff\/enroll\?token=[0-9a-f]+)/);
      const staff = seen.match(/staff paperwork ([0-9a-f-]{36})/);
      if (serving && link && staff) resolve({ server, base: serving[1], link: link[1], adminId: staff[1] });
    });
    server.on('exit', (code) => reject(new Error(`the server exited (${code}): ${seen}`)));
  });
}

async function shoot(page, name) {
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
}

async function submit(page, formSelector) {
  await Promise.all([page.waitForNavigation(), page.locator(`${formSelector} button[type=submit]`).first().click()]);
}

test('the main journeys, in chromium, the student without JavaScript', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'vintrova-e2e-'));
  rmSync(SHOTS, { recursive: true, force: true });
  mkdirSync(SHOTS, { recursive: true });
  const { server, base, link, adminId } = await startServer(dataDir);
  // Everyone signs before acting: the operator records the first administrator's agreement on
  // the server, as the first start says to.
  const env = { ...process.env };
  delete env.VINTROVA_DATABASE_URL;
  const signed = spawnSync(
    BIN,
    ['--data-dir', dataDir, 'staff', 'paperwork', adminId, '--kind', 'agreement', '--on', almatyToday(), '--reference', 'NDA-admin-1'],
    { env, encoding: 'utf8' },
  );
  assert.equal(signed.status, 0, signed.stderr);
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
  try {
    const staffContext = await browser.newContext({ ignoreHTTPSErrors: true, baseURL: base });
    const studentContext = await browser.newContext({
      ignoreHTTPSErrors: true,
      baseURL: base,
      javaScriptEnabled: false,
      viewport: { width: 390, height: 844 },
    });

    // The administrator enrolls from the first start's link and signs in with the second factor.
    const admin = await staffContext.newPage();
    await admin.goto(link.replace(/^https:\/\/[^/]+/, ''));
    const adminSecret = (await admin.locator('main code').first().textContent()).trim();
    await admin.fill('#enroll-password', PASSWORD);
    await admin.fill('#enroll-code', totp(adminSecret));
    await submit(admin, 'form[action="/staff/enroll"]');
    assert.match(admin.url(), /\/staff\/sign-in$/);
    await admin.fill('#sign-in-login', 'admin');
    await admin.fill('#sign-in-password', PASSWORD);
    await admin.fill('#sign-in-code', totp(adminSecret, 1));
    await submit(admin, 'form[action="/staff/sign-in"]');
    assert.match(admin.url(), /\/staff$/);

    // …adds a data protection officer and records their paperwork.
    await admin.goto('/staff/team');
    await admin.fill('#add-staff-login', 'g.dpo');
    await admin.selectOption('#add-staff-role', 'dpo');
    await submit(admin, 'form[action="/staff/team"]');
    const dpoLink = await admin.locator('a[href^="/staff/enroll?token="]').getAttribute('href');
    for (const kind of ['agreement', 'training']) {
      await admin.goto('/staff/team');
      await admin.selectOption('#paperwork-staff', { label: 'g.dpo' });
      await admin.selectOption('#paperwork-kind', kind);
      await admin.fill('#paperwork-on', almatyToday());
      await admin.fill('#paperwork-reference', `HR-${kind}-1`);
      await submit(admin, 'form[action="/staff/team/paperwork"]');
    }
    assert.match(await admin.locator('main').textContent(), /в порядке до/);

    // The officer enrolls in a browser of their own.
    const officerContext = await browser.newContext({ ignoreHTTPSErrors: true, baseURL: base });
    const officer = await officerContext.newPage();
    await officer.goto(dpoLink);
    const officerSecret = (await officer.locator('main code').first().textContent()).trim();
    await officer.fill('#enroll-password', PASSWORD);
    await officer.fill('#enroll-code', totp(officerSecret));
    await submit(officer, 'form[action="/staff/enroll"]');
    await officer.fill('#sign-in-login', 'g.dpo');
    await officer.fill('#sign-in-password', PASSWORD);
    await officer.fill('#sign-in-code', totp(officerSecret, 1));
    await submit(officer, 'form[action="/staff/sign-in"]');
    assert.match(officer.url(), /\/staff$/);

    // The student registers with one consent, unticked until they tick it, and the consent to
    // contact data an account needs, shown whole and required.
    const student = await studentContext.newPage();
    await student.goto('/register');
    assert.equal(await student.isChecked('#consent-notifications'), false);
    assert.equal(await student.getAttribute('#consent-contact_data', 'required'), '');
    await student.check('#consent-contact_data');
    await student.fill('#first_name', STUDENT.name);
    await student.fill('#email', STUDENT.email);
    await student.fill('#password', STUDENT.password);
    await student.check('#consent-notifications');
    await submit(student, 'form[action="/register"]');
    assert.match(student.url(), /\/me$/, 'registered is signed in');
    const myData = await student.locator('main').textContent();
    assert.ok(myData.includes(STUDENT.email) && myData.includes(STUDENT.name), 'my data shows what is held');

    // …withdraws the consent in one click.
    await student.goto('/me/consents');
    await Promise.all([student.waitForNavigation(), student.locator('button[value="withdrawn"]').first().click()]);
    assert.match(await student.locator('main').textContent(), /Готово/);
    assert.equal(await student.locator('button[value="granted"]').count(), 4, 'only the consent to contact data is given now');

    // …and asks for a copy.
    await student.goto('/me/requests');
    await student.check('#right-access');
    await student.fill('#description', 'Прошу копию моих данных');
    await submit(student, 'form[action="/me/requests"]');
    assert.match(await student.locator('main').textContent(), /Запрос принят/);

    // Photographs: every page in every language, the student's and the console's.
    for (const lang of LANGS) {
      for (const [name, path] of [['home', '/'], ['policy', '/policy'], ['my-data', '/me'], ['consents', '/me/consents'], ['requests', '/me/requests']]) {
        await student.goto(`${path}?lang=${lang}`);
        assert.equal(await student.getAttribute('html', 'lang'), lang);
        await shoot(student, `${lang}-${name}`);
      }
      for (const [name, path] of [['console', '/staff'], ['queue', '/staff/requests'], ['lookup', '/staff/lookup'], ['incidents', '/staff/incidents'], ['audit', '/staff/audit'], ['team', '/staff/team'], ['recipients', '/staff/recipients']]) {
        await officer.goto(`${path}?lang=${lang}`);
        await shoot(officer, `${lang}-staff-${name}`);
      }
    }
    const anonymous = await (await browser.newContext({ ignoreHTTPSErrors: true, baseURL: base, javaScriptEnabled: false })).newPage();
    for (const lang of LANGS) {
      for (const [name, path] of [['register', '/register'], ['sign-in', '/sign-in'], ['staff-sign-in', '/staff/sign-in']]) {
        await anonymous.goto(`${path}?lang=${lang}`);
        await shoot(anonymous, `${lang}-${name}`);
      }
    }
    // Back to Russian, the default, for the rest of the journey.
    await officer.goto('/staff/requests?lang=ru');
    await student.goto('/?lang=ru');

    // The officer answers the request from the queue, and the student downloads the copy.
    await officer.goto('/staff/requests');
    await Promise.all([officer.waitForNavigation(), officer.locator('form[action$="/fulfil"] button').first().click()]);
    assert.match(await officer.locator('main').textContent(), /Запросов пока нет/);
    await student.goto('/me/copy');
    assert.ok((await student.content()).includes(STUDENT.email), 'the copy holds the data');
    await shoot(student, 'ru-copy');

    // The student asks for erasure; the officer carries it out; sign-in no longer works.
    await student.goto('/me/requests');
    await student.check('#right-erasure');
    await student.fill('#description', 'Удалите мои данные');
    await submit(student, 'form[action="/me/requests"]');
    await officer.goto('/staff/requests');
    await Promise.all([officer.waitForNavigation(), officer.locator('form[action$="/fulfil"] button').first().click()]);
    await student.goto('/me');
    assert.match(student.url(), /\/sign-in$/, 'the session went with the data');
    await student.fill('#email', STUDENT.email);
    await student.fill('#password', STUDENT.password);
    await submit(student, 'form[action="/sign-in"]');
    assert.match(await student.locator('main').textContent(), /Неверная почта или пароль/);
    await shoot(student, 'ru-after-erasure');
  } finally {
    await browser.close();
    server.kill('SIGTERM');
    rmSync(dataDir, { recursive: true, force: true });
  }
});
