import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { changeCertificateStatus } from '../../src/ca/status.js';
import { formatSerialWithColons, randomSerial, type Serial } from '../../src/domain/serial.js';
import { CITIZEN } from '../helpers/csr.js';
import { openPkiFixture, type PkiFixture } from '../helpers/pki.js';

/**
 * The status page in a real browser (Debian's Chromium, headless, driven by playwright-core):
 * lookups typed with the keyboard alone and with scripts disabled, both languages through the
 * switch link, an upload, a phone-sized viewport, no CSP violations; and the screenshot in
 * docs/status-page.png. test/run.sh installs chromium when it is missing and it runs as root.
 */
const CHROMIUM = '/usr/bin/chromium';
// The kept screenshot is docs/status-page.png; a test run writes a fresh one to a temporary file,
// and copies it over the kept one only when asked (EIMZA_UPDATE_SCREENSHOT=1), so the suite leaves
// the checkout as it found it.
const KEPT_SCREENSHOT = path.resolve('docs/status-page.png');
const SCREENSHOT = path.join(os.tmpdir(), `eimza-status-page-${process.pid}.png`);

let pki: PkiFixture;
let browser: Browser;
let context: BrowserContext;
let page: Page;
const cspViolations: string[] = [];
const certs: Record<'valid' | 'suspended' | 'revoked', { serial: string; certPath: string }> = {} as never;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `status-page-browser: Chromium is not installed (${CHROMIUM} is missing). Install Debian's package: apt-get install -y chromium ` +
        '(npm test does this itself when it runs as root). This test never skips.',
    );
  }
  pki = await openPkiFixture();
  certs.valid = await pki.issue('browser-valid', 'signature', { ...CITIZEN, organization: 'Vergilər Nazirliyi', voen: '1400057421' });
  certs.suspended = await pki.issue('browser-suspended');
  certs.revoked = await pki.issue('browser-revoked');
  await changeCertificateStatus(pki.ctx.ca, 'suspend', { serial: certs.suspended.serial, actor: 'test' });
  await changeCertificateStatus(pki.ctx.ca, 'revoke', { serial: certs.revoked.serial, actor: 'test', reason: 'keyCompromise' });
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
  // No script is needed: the page is used with JavaScript switched off.
  context = await browser.newContext({ javaScriptEnabled: false, viewport: { width: 1000, height: 800 }, locale: 'az-AZ' });
  page = await context.newPage();
  watchCsp(page);
}, 120_000);

afterAll(async () => {
  // Closing the browser ends the Chromium processes this suite started.
  await browser?.close();
  await pki?.close();
});

function watchCsp(p: Page): void {
  p.on('console', (m) => {
    if (/Content Security Policy|Refused to/i.test(m.text())) cspViolations.push(m.text());
  });
}

const url = (p: string) => `${pki.server.url}${p}`;

async function heading(): Promise<string> {
  return ((await page.locator('h1').textContent()) ?? '').trim();
}

async function mainText(): Promise<string> {
  return ((await page.locator('main').textContent()) ?? '').replace(/\s+/g, ' ');
}

/** Tab from the top of the page until the serial box has focus; how many presses it took. */
async function tabToSerial(): Promise<number> {
  for (let presses = 1; presses <= 10; presses++) {
    await page.keyboard.press('Tab');
    if ((await page.locator('#serial:focus').count()) === 1) return presses;
  }
  throw new Error('the serial box cannot be reached with Tab');
}

/** Keyboard only: Tab to the box, type the serial, Enter; returns the HTTP status of the result page. */
async function lookUpByKeyboard(serialText: string): Promise<number> {
  await page.goto(url('/'));
  await tabToSerial();
  await page.keyboard.type(serialText);
  const response = page.waitForResponse((r) => r.request().method() === 'GET' && r.url().includes('/certificates/'));
  await page.keyboard.press('Enter');
  const status = (await response).status();
  await page.waitForURL('**/certificates/**');
  return status;
}

describe('the status page in Chromium', () => {
  it('reaches the form by keyboard: skip link first, then the serial box, focus visible', async () => {
    await page.goto(url('/'));
    expect(await page.getAttribute('html', 'lang')).toBe('az');
    await page.keyboard.press('Tab');
    expect(await page.locator('a.skip:focus').count()).toBe(1);
    const box = await page.locator('a.skip').boundingBox();
    expect(box && box.x >= 0 && box.y >= 0).toBe(true);
    await page.goto(url('/'));
    expect(await tabToSerial()).toBeLessThanOrEqual(5);
    expect(await page.locator('label[for="serial"]').textContent()).toBe('Seriya nömrəsi');
    // The focus ring, read in a context with scripts on (the page itself has none).
    const withScripts = await browser.newContext({ viewport: { width: 1000, height: 800 } });
    try {
      const p = await withScripts.newPage();
      watchCsp(p);
      await p.goto(url('/'));
      for (let i = 0; i < 10 && (await p.locator('#serial:focus').count()) === 0; i++) await p.keyboard.press('Tab');
      expect(await p.evaluate('getComputedStyle(document.activeElement).outlineStyle + " " + getComputedStyle(document.activeElement).outlineWidth')).toBe('solid 3px');
    } finally {
      await withScripts.close();
    }
  });

  it('looks up a valid, a suspended, a revoked and an unknown certificate typed into the form', async () => {
    expect(await lookUpByKeyboard(certs.valid.serial)).toBe(200);
    expect(page.url()).toBe(url(`/certificates/${certs.valid.serial}`));
    expect(await heading()).toBe('Sertifikat etibarlıdır');
    expect(await mainText()).toContain('LEYLA ƏLİYEVA');
    expect(await mainText()).toContain('Vergilər Nazirliyi');

    expect(await lookUpByKeyboard(formatSerialWithColons(certs.suspended.serial as Serial))).toBe(200);
    expect(page.url()).toBe(url(`/certificates/${certs.suspended.serial}`));
    expect(await heading()).toBe('Sertifikat dayandırılıb');
    expect(await mainText()).toContain('tarixindən dayandırılıb');

    expect(await lookUpByKeyboard(certs.revoked.serial.toUpperCase())).toBe(200);
    expect(await heading()).toBe('Sertifikat ləğv edilib');
    expect(await mainText()).toContain('Səbəb: açarın təhlükəsizliyi pozulub');

    const unknown = randomSerial();
    expect(await lookUpByKeyboard(unknown)).toBe(404);
    expect(await heading()).toBe('Bu sertifikatı e-imza verməyib');
    expect(await mainText()).toContain(formatSerialWithColons(unknown));
  });

  it('switches to English by the link and back, keeping the page, and the form keeps the language', async () => {
    await page.goto(url(`/certificates/${certs.revoked.serial}`));
    await page.locator('a.lang').focus();
    await Promise.all([page.waitForURL(`**/certificates/${certs.revoked.serial}?lang=en`), page.keyboard.press('Enter')]);
    expect(await page.getAttribute('html', 'lang')).toBe('en');
    expect(await heading()).toBe('The certificate is revoked');
    expect(await mainText()).toContain('Reason: key compromise. Revocation is final.');

    await page.getByRole('link', { name: 'Check another certificate' }).click();
    expect(await heading()).toBe("Check a certificate's status");
    await page.locator('#serial').focus();
    await page.keyboard.type(certs.suspended.serial);
    await Promise.all([page.waitForURL(`**/certificates/${certs.suspended.serial}?lang=en`), page.keyboard.press('Enter')]);
    expect(await heading()).toBe('The certificate is suspended');

    await page.getByRole('link', { name: 'Azərbaycanca' }).click();
    await page.waitForURL(`**/certificates/${certs.suspended.serial}?lang=az`);
    expect(await page.getAttribute('html', 'lang')).toBe('az');
    expect(await heading()).toBe('Sertifikat dayandırılıb');
  });

  it('checks an uploaded certificate file and a pasted PEM', async () => {
    await page.goto(url('/'));
    await page.setInputFiles('#file', certs.revoked.certPath);
    await Promise.all([page.waitForURL(`**/certificates/${certs.revoked.serial}`), page.locator('form[enctype="multipart/form-data"] button').click()]);
    expect(await heading()).toBe('Sertifikat ləğv edilib');

    await page.goto(url('/?lang=en'));
    await page.locator('#pem').fill(readFileSync(certs.valid.certPath, 'utf8'));
    await Promise.all([page.waitForURL(`**/certificates/${certs.valid.serial}?lang=en`), page.locator('form[enctype="multipart/form-data"] button').click()]);
    expect(await heading()).toBe('The certificate is valid');
  });

  it('fits a phone screen without sideways scrolling, and saves the screenshot of a result page', async () => {
    const phone = await browser.newContext({ viewport: { width: 360, height: 740 }, isMobile: true, deviceScaleFactor: 2 });
    try {
      const small = await phone.newPage();
      watchCsp(small);
      for (const p of ['/', `/certificates/${certs.valid.serial}`, '/lists']) {
        await small.goto(url(p));
        expect([p, await small.evaluate('document.documentElement.scrollWidth <= window.innerWidth')]).toEqual([p, true]);
      }
    } finally {
      await phone.close();
    }
    await page.goto(url(`/certificates/${certs.valid.serial}`));
    expect(await heading()).toBe('Sertifikat etibarlıdır');
    mkdirSync(path.dirname(SCREENSHOT), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    const png = readFileSync(SCREENSHOT);
    expect(png.subarray(0, 8).toString('hex')).toBe('89504e470d0a1a0a');
    expect(statSync(SCREENSHOT).size).toBeGreaterThan(10_000);
    if (process.env.EIMZA_UPDATE_SCREENSHOT === '1') copyFileSync(SCREENSHOT, KEPT_SCREENSHOT);
    expect(statSync(KEPT_SCREENSHOT).size).toBeGreaterThan(10_000);
    rmSync(SCREENSHOT, { force: true });
  });

  it('met no Content-Security-Policy violation on any page', () => {
    expect(cspViolations).toEqual([]);
  });
});
