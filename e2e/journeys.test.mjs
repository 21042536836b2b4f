// The main journeys in a real browser against a real server on a fresh data directory:
// the administrator enrolls from the first start's link and adds a data protection officer;
// a student registers with a consent, sees their data, withdraws the consent, asks for a copy;
// the officer answers it; the student downloads the copy, asks for erasure, and can no longer
// sign in. The student's browser has JavaScript turned off the whole way. Every page is
// photographed in each language, at a phone's width and a desktop's, into e2e/screenshots/, and
// checked: axe-core finds nothing serious or critical, nothing scrolls sideways on a phone, and
// every link and button in the navigation and in tables is at least 24 px square.
//
// Run by `cargo test` (crates/vintrova/tests/cli.rs) with VINTROVA_BIN set; by hand:
//   cargo build -p vintrova && cd e2e && npm ci && VINTROVA_BIN=../target/debug/vintrova npm test

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
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
const WIDTHS = { phone: { width: 390, height: 844 }, desktop: { width: 1280, height: 800 } };
const AXE = readFileSync(join(here, 'node_modules', 'axe-core', 'axe.min.js'), 'utf8');
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

/** Links and buttons in the navigation and in tables smaller than 24 x 24 CSS px, and how far the
 * page scrolls sideways; run in the page. */
function measure() {
  const small = [...document.querySelectorAll('header nav a, header nav button, table a, table button')]
    .map((e) => [e, e.getBoundingClientRect()])
    .filter(([, r]) => r.width > 0 && (r.width < 24 || r.height < 24))
    .map(([e, r]) => `${e.tagName.toLowerCase()} "${e.textContent.trim()}" ${r.width.toFixed(1)}x${r.height.toFixed(1)}`);
  return { small, sideways: document.documentElement.scrollWidth - window.innerWidth };
}

/** Photographs and checks the pages people see. The student's browser runs no script and the
 * site's CSP refuses any the test would add, so each browser has a twin for the checks: a context
 * with JavaScript on and the CSP bypassed (only here, in the test) that carries the same cookies,
 * so it is signed in as the same person and sees the same page. */
class Inspector {
  constructor(browser, base) {
    this.browser = browser;
    this.base = base;
    this.twins = new Map();
    this.serious = [];
    this.minor = new Map();
    this.scanned = 0;
  }

  async twin(page) {
    const context = page.context();
    if (!this.twins.has(context)) {
      const twin = await this.browser.newContext({ ignoreHTTPSErrors: true, baseURL: this.base, bypassCSP: true });
      this.twins.set(context, await twin.newPage());
    }
    const twin = this.twins.get(context);
    await twin.context().clearCookies();
    await twin.context().addCookies(await context.cookies());
    return twin;
  }

  /** Photograph `page` at both widths as `name` and check it: at `path` (reloaded at each width),
   * or, without a path, the page as it stands (the answer to a form, mirrored into the twin). */
  async look(page, name, path) {
    const twin = await this.twin(page);
    const html = path ? null : await page.content();
    const url = page.url();
    const viewportBefore = page.viewportSize();
    for (const [width, viewport] of Object.entries(WIDTHS)) {
      await page.setViewportSize(viewport);
      if (path) await page.goto(path);
      await shoot(page, `${name}-${width}`);
      await twin.setViewportSize(viewport);
      if (path) {
        await twin.goto(path);
      } else {
        await twin.goto(url);
        await twin.setContent(html);
      }
      await twin.addScriptTag({ content: AXE });
      this.scanned += 1;
      const violations = await twin.evaluate(async () => {
        const result = await window.axe.run(document, {
          rules: { 'target-size': { enabled: true } },
          resultTypes: ['violations'],
        });
        return result.violations.map((v) => ({
          id: v.id,
          impact: v.impact,
          help: v.help,
          nodes: v.nodes.map((n) => `${n.target.join(' ')}: ${n.failureSummary.replace(/\s+/g, ' ')}`),
        }));
      });
      for (const v of violations) {
        const where = `${name}-${width}`;
        if (v.impact === 'serious' || v.impact === 'critical') {
          this.serious.push({ where, ...v });
          console.log(`axe ${v.impact} on ${where}: ${v.id} (${v.help})\n  ${v.nodes.join('\n  ')}`);
        } else {
          const key = `${v.impact} ${v.id} (${v.help})`;
          this.minor.set(key, [...(this.minor.get(key) ?? []), where]);
        }
      }
      const { small, sideways } = await twin.evaluate(measure);
      assert.deepEqual(small, [], `${name}-${width}: targets smaller than 24 px`);
      if (width === 'phone') assert.ok(sideways <= 0, `${name}-${width} scrolls sideways by ${sideways} px`);
    }
    await page.setViewportSize(viewportBefore);
  }

  /** Minor and moderate findings are printed; a serious or critical one fails the journey. */
  verdict() {
    console.log(`axe scanned ${this.scanned} pages; minor or moderate findings: ${this.minor.size}`);
    for (const [key, pages] of this.minor) console.log(`axe ${key} on ${pages.length} pages: ${pages.join(', ')}`);
    assert.deepEqual(this.serious.map((v) => `${v.where}: ${v.id}`), [], 'axe finds no serious or critical violation');
  }
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
    const inspector = new Inspector(browser, base);
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

    // Photographs and checks: every page in every language, the student's and the console's.
    for (const lang of LANGS) {
      for (const [name, path] of [['home', '/'], ['policy', '/policy'], ['policy-versions', '/policy/versions'], ['my-data', '/me'], ['consents', '/me/consents'], ['requests', '/me/requests'], ['activity', '/me/activity'], ['access', '/me/access']]) {
        await inspector.look(student, `${lang}-${name}`, `${path}?lang=${lang}`);
        assert.equal(await student.getAttribute('html', 'lang'), lang);
      }
      for (const [name, path] of [['console', '/staff'], ['queue', '/staff/requests'], ['lookup', '/staff/lookup'], ['incidents', '/staff/incidents'], ['audit', '/staff/audit'], ['team', '/staff/team'], ['recipients', '/staff/recipients'], ['retention', '/staff/retention'], ['analytics', '/staff/analytics']]) {
        await inspector.look(officer, `${lang}-staff-${name}`, `${path}?lang=${lang}`);
        assert.equal(await officer.getAttribute('html', 'lang'), lang);
      }
    }
    const anonymous = await (await browser.newContext({ ignoreHTTPSErrors: true, baseURL: base, javaScriptEnabled: false })).newPage();
    for (const lang of LANGS) {
      for (const [name, path] of [['register', '/register'], ['sign-in', '/sign-in'], ['staff-sign-in', '/staff/sign-in']]) {
        await inspector.look(anonymous, `${lang}-${name}`, `${path}?lang=${lang}`);
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
    for (const lang of LANGS) await inspector.look(student, `${lang}-copy`, `/me/copy?lang=${lang}`);
    await student.goto('/?lang=ru');

    // The student asks for erasure; the officer carries it out; sign-in no longer works.
    await student.goto('/me/requests');
    await student.check('#right-erasure');
    await student.fill('#description', 'Удалите мои данные');
    await submit(student, 'form[action="/me/requests"]');
    // Nothing is filed before she reads what goes and what the law keeps, and confirms.
    assert.match(await student.locator('h1').textContent(), /Удалить мои данные\?/);
    await shoot(student, 'ru-erasure-confirm-phone');
    await submit(student, 'form[action="/me/requests"]');
    assert.match(await student.locator('main').textContent(), /квитанция придёт на вашу почту/);
    await shoot(student, 'ru-erasure-farewell-phone');
    await officer.goto('/staff/requests');
    await Promise.all([officer.waitForNavigation(), officer.locator('form[action$="/fulfil"] button').first().click()]);
    // The officer sees what the erasure destroys and keeps before it happens, then confirms.
    assert.match(await officer.locator('main').textContent(), /необратимо/);
    await shoot(officer, 'ru-staff-erasure-confirm-desktop');
    await Promise.all([officer.waitForNavigation(), officer.locator('form[action$="/fulfil"] button').first().click()]);
    assert.match(await officer.locator('main').textContent(), /Запрос исполнен/);
    await student.goto('/me');
    assert.match(student.url(), /\/sign-in$/, 'the session went with the data');
    await student.fill('#email', STUDENT.email);
    await student.fill('#password', STUDENT.password);
    await submit(student, 'form[action="/sign-in"]');
    assert.match(await student.locator('main').textContent(), /Неверная почта или пароль/);
    await inspector.look(student, 'ru-after-erasure');
    inspector.verdict();
  } finally {
    await browser.close();
    server.kill('SIGTERM');
    rmSync(dataDir, { recursive: true, force: true });
  }
});
