// The main journeys in a real browser against a real server on a fresh data directory:
// the administrator enrolls from the first start's link and adds a data protection officer;
// a student registers with a consent, sees their data, withdraws the consent, asks for a copy;
// the officer answers it; the student downloads the copy. A letter from the student asks how
// her data is processed: the officer tries a wrong code, sends a new one, verifies it with the
// code the mail carried and answers. The officer refuses a request with a reason, and corrects
// the student's data as her rectification request asks. The student asks for erasure, and can
// no longer sign in. The student's browser has JavaScript turned off the whole way. Every page is
// photographed in each language, at a phone's width and a desktop's, into e2e/screenshots/, its
// heading read in that language, and checked: axe-core finds nothing serious or critical,
// nothing scrolls sideways on a phone, and every link and button in the navigation and in tables
// is at least 24 px square.
//
// Run by `cargo test` (crates/vintrova/tests/cli.rs) with VINTROVA_BIN set; by hand:
//   cargo build -p vintrova && cd e2e && npm ci && VINTROVA_BIN=../target/debug/vintrova npm test

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
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

/** The words each page's heading says, in each language (crates/i18n/locales/{ru,kk,en}/site.ftl). */
const HEADINGS = {
  home: { ru: 'Образование в области нейронных сетей', kk: 'Нейрондық желілер бойынша білім', en: 'Education in neural networks' },
  policy: { ru: 'Политика конфиденциальности', kk: 'Құпиялылық саясаты', en: 'Privacy policy' },
  'policy-versions': { ru: 'Редакции политики конфиденциальности', kk: 'Құпиялылық саясатының нұсқалары', en: 'Versions of the privacy policy' },
  'my-data': { ru: 'Мои данные', kk: 'Менің деректерім', en: 'My data' },
  consents: { ru: 'Мои согласия', kk: 'Менің келісімдерім', en: 'My consents' },
  requests: { ru: 'Мои запросы', kk: 'Менің сұрауларым', en: 'My requests' },
  activity: { ru: 'Обучение, поддержка, платежи, уведомления', kk: 'Оқу, қолдау, төлемдер, хабарламалар', en: 'Learning, support, payments, notices' },
  access: { ru: 'Кто смотрел мои данные', kk: 'Деректерімді кім қарады', en: 'Who looked at my data' },
  copy: { ru: 'Копия моих данных', kk: 'Деректерімнің көшірмесі', en: 'A copy of my data' },
  'erasure-confirm': { ru: 'Удалить мои данные?', kk: 'Деректерімді жою керек пе?', en: 'Erase my data?' },
  register: { ru: 'Регистрация', kk: 'Тіркелу', en: 'Register' },
  'sign-in': { ru: 'Вход', kk: 'Кіру', en: 'Sign in' },
  'staff-sign-in': { ru: 'Вход для сотрудников', kk: 'Қызметкерлерге кіру', en: 'Staff sign-in' },
  'staff-console': { ru: 'Консоль', kk: 'Консоль', en: 'Console' },
  'staff-queue': { ru: 'Запросы', kk: 'Сұраулар', en: 'Requests' },
  'staff-lookup': { ru: 'Поиск человека', kk: 'Адамды іздеу', en: 'Find a person' },
  'staff-incidents': { ru: 'Инциденты', kk: 'Инциденттер', en: 'Incidents' },
  'staff-audit': { ru: 'Журнал аудита', kk: 'Аудит журналы', en: 'Audit log' },
  'staff-team': { ru: 'Сотрудники', kk: 'Қызметкерлер', en: 'Staff' },
  'staff-recipients': { ru: 'Получатели', kk: 'Алушылар', en: 'Recipients' },
  'staff-retention': { ru: 'Сроки хранения', kk: 'Сақтау мерзімдері', en: 'Retention' },
  'staff-analytics': { ru: 'Эффективность обучения', kk: 'Оқу тиімділігі', en: 'Learning effectiveness' },
  'staff-request': { ru: 'Запрос субъекта', kk: 'Субъектінің сұранысы', en: "A person's request" },
  'right-information': { ru: 'Получить информацию об обработке данных', kk: 'Деректерді өңдеу туралы ақпарат алу', en: 'Information about the processing' },
  'right-restriction': { ru: 'Ограничить обработку', kk: 'Өңдеуді шектеу', en: 'Restrict processing' },
  'right-rectification': { ru: 'Исправить данные', kk: 'Деректерді түзету', en: 'Correct your data' },
};
/** Other words the journeys read on the page, in each language. */
const WORDS = {
  'information-title': { ru: 'Как мы обрабатываем ваши данные', kk: 'Деректеріңізді қалай өңдейміз', en: 'How we process your data' },
  'state-completed': { ru: 'Выполнен', kk: 'Орындалды', en: 'Completed' },
  'state-rejected': { ru: 'Отклонён', kk: 'Қабылданбады', en: 'Rejected' },
  'state-awaiting_verification': { ru: 'Ожидает подтверждения', kk: 'Растауды күтуде', en: 'Awaiting verification' },
  'error-code-wrong': { ru: 'Код неверный', kk: 'Код қате', en: 'The code is wrong' },
  'requests-new': { ru: 'Новый запрос', kk: 'Жаңа сұрау', en: 'New request' },
};
/** The subject of the mail that carries a request's code, in each language (mail.ftl). */
const CODE_MAIL = ['Код подтверждения запроса', 'Сұранысты растау коды', 'Your confirmation code'];

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

/** The messages the server's file transport dropped into `DATA_DIR/mail/`: to whom, the subject
 * and the text (base64 undone; for a message with an attachment, its first part). */
function mails(dataDir) {
  const dir = join(dataDir, 'mail');
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.eml'))
    .map((file) => {
      const raw = readFileSync(join(dir, file), 'utf8');
      const end = raw.indexOf('\r\n\r\n');
      const head = raw.slice(0, end);
      const header = (name) => (head.match(new RegExp(`^${name}: (.*)$`, 'mi')) ?? [])[1]?.trim() ?? '';
      const subject = header('Subject').replace(/=\?utf-8\?B\?([^?]*)\?=/gi, (_, b64) => Buffer.from(b64, 'base64').toString('utf8'));
      let rest = raw.slice(end + 4);
      if (/multipart/i.test(header('Content-Type'))) {
        rest = rest.slice(rest.indexOf('\r\n\r\n') + 4);
        rest = rest.slice(0, rest.indexOf('\r\n--'));
      }
      const body = Buffer.from(rest.replace(/\s+/g, ''), 'base64').toString('utf8');
      return { file, to: header('To'), subject, body };
    });
}

/** Wait (the server delivers every 10 s) for the first mail `pick` accepts; resolve with what
 * `pick` returned. */
async function waitForMail(dataDir, what, pick) {
  for (let tries = 0; tries < 80; tries += 1) {
    const found = mails(dataDir).map(pick).find((x) => x !== undefined && x !== null && x !== false);
    if (found) return found;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  assert.fail(`no mail ${what} arrived in 40 s`);
}

/** The code in a request-code mail to `to` that carries none of `known` (the codes seen before). */
function waitForCode(dataDir, to, known) {
  return waitForMail(dataDir, `with a new request code to ${to}`, (m) => {
    if (m.to !== to || !CODE_MAIL.some((s) => m.subject.includes(s))) return undefined;
    const code = m.body.match(/\b(\d{6})\b/)?.[1];
    return code && !known.includes(code) ? code : undefined;
  });
}

/** The page's first heading says `words`. */
async function heading(page, words, where) {
  const text = (await page.locator('h1').first().textContent()).trim();
  assert.ok(text.includes(words), `${where}: the heading says "${words}", not "${text}"`);
}

/** The page's main part says `words`. */
async function says(page, words, where) {
  const text = await page.locator('main').textContent();
  assert.ok(text.includes(words), `${where}: the page says "${words}"; it says: ${text.replace(/\s+/g, ' ').slice(0, 400)}`);
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

/** Submit the form and resolve with the response the browser landed on. */
async function submit(page, formSelector) {
  const [response] = await Promise.all([page.waitForNavigation(), page.locator(`${formSelector} button[type=submit]`).first().click()]);
  return response;
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
        await heading(student, HEADINGS[name][lang], `${lang}-${name}`);
        if (name === 'requests') await says(student, WORDS['requests-new'][lang], `${lang}-requests`);
      }
      for (const [name, path] of [['console', '/staff'], ['queue', '/staff/requests'], ['lookup', '/staff/lookup'], ['incidents', '/staff/incidents'], ['audit', '/staff/audit'], ['team', '/staff/team'], ['recipients', '/staff/recipients'], ['retention', '/staff/retention'], ['analytics', '/staff/analytics']]) {
        await inspector.look(officer, `${lang}-staff-${name}`, `${path}?lang=${lang}`);
        assert.equal(await officer.getAttribute('html', 'lang'), lang);
        await heading(officer, HEADINGS[`staff-${name}`][lang], `${lang}-staff-${name}`);
      }
    }
    const anonymous = await (await browser.newContext({ ignoreHTTPSErrors: true, baseURL: base, javaScriptEnabled: false })).newPage();
    for (const lang of LANGS) {
      for (const [name, path] of [['register', '/register'], ['sign-in', '/sign-in'], ['staff-sign-in', '/staff/sign-in']]) {
        await inspector.look(anonymous, `${lang}-${name}`, `${path}?lang=${lang}`);
        assert.equal(await anonymous.getAttribute('html', 'lang'), lang);
        await heading(anonymous, HEADINGS[name][lang], `${lang}-${name}`);
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
    for (const lang of LANGS) {
      await inspector.look(student, `${lang}-copy`, `/me/copy?lang=${lang}`);
      await heading(student, HEADINGS.copy[lang], `${lang}-copy`);
      assert.ok((await student.content()).includes(STUDENT.email), `${lang}-copy holds the data`);
    }
    await student.goto('/?lang=ru');

    // A letter from the student asks how her data is processed: the operator enters it naming
    // her account, and the code goes to her address on record.
    const cli = (args, input) => {
      const run = spawnSync(BIN, ['--data-dir', dataDir, ...args], { env, encoding: 'utf8', input });
      assert.equal(run.status, 0, `vintrova ${args.join(' ')}: ${run.stderr}`);
      return run.stdout;
    };
    const [studentId] = JSON.parse(cli(['subject', 'find', '--field', 'contact.email'], STUDENT.email));
    assert.match(studentId ?? '', /^[0-9a-f-]{36}$/, 'the student is found by her address');
    const entered = cli(['request', 'add', '--right', 'information'], JSON.stringify({ subject: studentId, description: 'Письмо: как вы обрабатываете мои данные?' }));
    const { id: letterId, state: letterState } = JSON.parse(entered);
    assert.equal(letterState, 'awaiting_verification', entered);
    const firstCode = await waitForCode(dataDir, STUDENT.email, []);
    // The officer sees it waiting for its code, and nothing of who asked until the code is back.
    for (const lang of LANGS) {
      await inspector.look(officer, `${lang}-staff-request-unverified`, `/staff/requests/${letterId}?lang=${lang}`);
      await heading(officer, HEADINGS['staff-request'][lang], `${lang}-staff-request-unverified`);
      await says(officer, WORDS['state-awaiting_verification'][lang], `${lang}-staff-request-unverified`);
    }
    await officer.goto(`/staff/requests/${letterId}?lang=ru`);
    assert.ok(!(await officer.locator('main').textContent()).includes(STUDENT.email), 'no address before the code');
    // A wrong code is refused in words, not with a server error.
    const wrong = (code) => String((Number(code) + 1) % 1_000_000).padStart(6, '0');
    await officer.fill(`form[action$="/verify"] input[name=code]`, wrong(firstCode));
    let answer = await submit(officer, 'form[action$="/verify"]');
    assert.ok(answer.status() >= 400 && answer.status() < 500, `a wrong code is refused, not a server error: ${answer.status()}`);
    await says(officer, WORDS['error-code-wrong'].ru, 'ru-staff-code-wrong');
    await inspector.look(officer, 'ru-staff-code-wrong');
    // The officer sends a new code from the request's page; the first stops working.
    await officer.goto(`/staff/requests/${letterId}`);
    await Promise.all([officer.waitForNavigation(), officer.locator('form[action$="/resend"] button').click()]);
    assert.match(officer.url(), /\/staff\/requests\?done=resent$/);
    await says(officer, 'Новый код отправлен на адрес заявителя; прежний больше не действует.', 'ru-staff-queue-resent');
    await inspector.look(officer, 'ru-staff-queue-resent');
    const newCode = await waitForCode(dataDir, STUDENT.email, [firstCode]);
    // The first code, now spent, is refused in Kazakh and in English too.
    for (const lang of ['kk', 'en']) {
      await officer.goto(`/staff/requests/${letterId}?lang=${lang}`);
      await officer.fill(`form[action$="/verify"] input[name=code]`, lang === 'kk' ? firstCode : wrong(newCode));
      answer = await submit(officer, 'form[action$="/verify"]');
      assert.ok(answer.status() >= 400 && answer.status() < 500, `${lang}: a wrong code is refused, not a server error: ${answer.status()}`);
      assert.equal(await officer.getAttribute('html', 'lang'), lang);
      await says(officer, WORDS['error-code-wrong'][lang], `${lang}-staff-code-wrong`);
      await inspector.look(officer, `${lang}-staff-code-wrong`);
    }
    // The code the mail carried verifies it; then who asked and what they wrote open.
    await officer.goto(`/staff/requests/${letterId}?lang=ru`);
    await officer.fill(`form[action$="/verify"] input[name=code]`, newCode);
    await submit(officer, 'form[action$="/verify"]');
    assert.match(officer.url(), /\/staff\/requests\?done=verified$/);
    await says(officer, 'Запрос подтверждён: личность заявителя проверена кодом.', 'ru-staff-queue-verified');
    await officer.goto(`/staff/requests/${letterId}`);
    await says(officer, STUDENT.email, 'ru-staff-request-verified');
    await says(officer, 'Письмо: как вы обрабатываете мои данные?', 'ru-staff-request-verified');
    await Promise.all([officer.waitForNavigation(), officer.locator('form[action$="/fulfil"] button').click()]);
    await says(officer, 'Запрос исполнен; человек получит ответ.', 'ru-staff-queue-fulfilled');
    // The student reads the answer on the request's page, in each language.
    for (const lang of LANGS) {
      await inspector.look(student, `${lang}-request-information`, `/me/requests/${letterId}?lang=${lang}`);
      await heading(student, HEADINGS['right-information'][lang], `${lang}-request-information`);
      await says(student, WORDS['information-title'][lang], `${lang}-request-information`);
      await says(student, WORDS['state-completed'][lang], `${lang}-request-information`);
    }

    // The student asks to restrict processing; the officer refuses, with the reason she reads.
    const fileRequest = async (right, description) => {
      await student.goto('/me/requests?lang=ru');
      await student.check(`#right-${right}`);
      await student.fill('#description', description);
      await submit(student, 'form[action="/me/requests"]');
      await says(student, 'Запрос принят', `ru-requests-${right}`);
      const row = student.locator('main tbody tr', { hasText: HEADINGS[`right-${right}`].ru });
      assert.equal(await row.count(), 1, `one ${right} request in her table`);
      return (await row.locator('a').getAttribute('href')).split('/').pop();
    };
    const restrictionId = await fileRequest('restriction', 'Прошу ограничить обработку моих данных');
    const reason = 'Оснований для ограничения нет: данные точны и нужны для договора';
    await officer.goto(`/staff/requests/${restrictionId}`);
    await says(officer, STUDENT.name, 'ru-staff-request-restriction');
    await officer.fill('form[action$="/reject"] input[name=reason]', reason);
    await submit(officer, 'form[action$="/reject"]');
    assert.match(officer.url(), /\/staff\/requests\?done=rejected$/);
    await says(officer, 'Запрос отклонён; человек получит причину.', 'ru-staff-queue-rejected');
    await inspector.look(officer, 'ru-staff-queue-rejected');
    for (const lang of LANGS) {
      await inspector.look(student, `${lang}-request-rejected`, `/me/requests/${restrictionId}?lang=${lang}`);
      await heading(student, HEADINGS['right-restriction'][lang], `${lang}-request-rejected`);
      await says(student, WORDS['state-rejected'][lang], `${lang}-request-rejected`);
    }

    // The student asks to correct her data; the officer sees what is held now, corrects the last
    // name, and her data says it.
    const rectificationId = await fileRequest('rectification', 'Добавьте мою фамилию: Серикова');
    for (const lang of LANGS) {
      await inspector.look(officer, `${lang}-staff-request-rectification`, `/staff/requests/${rectificationId}?lang=${lang}`);
      await heading(officer, HEADINGS['staff-request'][lang], `${lang}-staff-request-rectification`);
    }
    await officer.goto(`/staff/requests/${rectificationId}?lang=ru`);
    await says(officer, 'Добавьте мою фамилию: Серикова', 'ru-staff-request-rectification');
    const rectify = officer.locator('form[action$="/rectify"]');
    assert.equal(await rectify.locator('button[type=submit]').textContent(), 'Исправить данные');
    assert.equal(await rectify.locator('input[name="contact.first_name"]').inputValue(), STUDENT.name, 'the form holds her first name');
    assert.equal(await rectify.locator('input[name="contact.email"]').inputValue(), STUDENT.email, 'the form holds her address');
    assert.equal(await rectify.locator('input[name="contact.last_name"]').inputValue(), '', 'no last name is held yet');
    await rectify.locator('input[name="contact.last_name"]').fill('Серикова');
    await submit(officer, 'form[action$="/rectify"]');
    assert.match(officer.url(), /\/staff\/requests\?done=fulfilled$/);
    await says(officer, 'Запрос исполнен; человек получит ответ.', 'ru-staff-queue-rectified');
    for (const lang of LANGS) {
      await student.goto(`/me?lang=${lang}`);
      await heading(student, HEADINGS['my-data'][lang], `${lang}-my-data-rectified`);
      await says(student, 'Серикова', `${lang}-my-data-rectified`);
      await says(student, STUDENT.name, `${lang}-my-data-rectified`);
      await inspector.look(student, `${lang}-request-rectified`, `/me/requests/${rectificationId}?lang=${lang}`);
      await heading(student, HEADINGS['right-rectification'][lang], `${lang}-request-rectified`);
      await says(student, WORDS['state-completed'][lang], `${lang}-request-rectified`);
    }
    // The refusal's reason reached her by mail.
    await waitForMail(dataDir, `with the refusal's reason to ${STUDENT.email}`, (m) => m.to === STUDENT.email && m.body.includes(reason));

    // Before erasing, the student reads what goes and what stays in Kazakh and in English, and
    // changes her mind each time: nothing is filed.
    for (const lang of ['kk', 'en']) {
      await student.goto(`/me/requests?lang=${lang}`);
      await student.check('#right-erasure');
      await student.fill('#description', 'Erase');
      await submit(student, 'form[action="/me/requests"]');
      await heading(student, HEADINGS['erasure-confirm'][lang], `${lang}-erasure-confirm`);
      assert.equal(await student.getAttribute('html', 'lang'), lang);
      await inspector.look(student, `${lang}-erasure-confirm`);
      await Promise.all([student.waitForNavigation(), student.locator('main form a[href="/me/requests"]').click()]);
      await heading(student, HEADINGS.requests[lang], `${lang}-erasure-cancelled`);
    }
    await student.goto('/?lang=ru');

    // The student asks for erasure; the officer carries it out; sign-in no longer works.
    await student.goto('/me/requests');
    await student.check('#right-erasure');
    await student.fill('#description', 'Удалите мои данные');
    await submit(student, 'form[action="/me/requests"]');
    // Nothing is filed before she reads what goes and what the law keeps, and confirms.
    await heading(student, HEADINGS['erasure-confirm'].ru, 'ru-erasure-confirm');
    await inspector.look(student, 'ru-erasure-confirm');
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
