// Drives the dashboard in Debian's headless chromium through playwright-core (tools/
// node_modules) for test_dashboard.py and `make screenshots`. Prints one JSON document on
// stdout: the numbers the pipeline picture showed at each step, the console's result rows,
// the pages that loaded and every console error.
//
//   node dash_browser.js --url http://127.0.0.1:PORT/_salespipe/ --out DIR
//        [--go FILE]   wait for FILE before the "settled" snapshot (the test drains first)
//        [--sql SQL]   the query typed into the console
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');

const args = {};
for (let i = 2; i < process.argv.length; i += 2) args[process.argv[i].replace(/^--/, '')] = process.argv[i + 1];
const SOURCE = path.resolve(__dirname, '../..');
const { chromium } = require(path.join(SOURCE, 'tools/node_modules/playwright-core'));
const CHROMIUM = process.env.SALESPIPE_CHROMIUM || '/usr/bin/chromium';
const sleep = ms => new Promise(r => setTimeout(r, ms));

async function metrics(page) {
  return page.$$eval('[data-metric]', els => Object.fromEntries(els.map(e => [e.dataset.metric, e.textContent])));
}

async function polled(page, n) {
  const start = Number(await page.evaluate(() => document.body.dataset.polls || 0));
  await page.waitForFunction(k => Number(document.body.dataset.polls || 0) >= k, start + n, {timeout: 30000});
}

async function main() {
  fs.mkdirSync(args.out, {recursive: true});
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'salespipe-chromium-'));
  const ctx = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM, headless: true, viewport: {width: 1280, height: 900},
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
           '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const out = {errors: [], pages: {}, snapshots: {}};
  try {
    const page = ctx.pages()[0] || await ctx.newPage();
    page.on('console', m => { if (m.type() === 'error') out.errors.push(m.text()); });
    page.on('pageerror', e => out.errors.push(String(e)));
    page.on('requestfailed', r => out.errors.push('request failed: ' + r.url()));
    await page.goto(args.url, {waitUntil: 'load'});
    await page.waitForSelector('svg.flow [data-metric="table.items"]', {timeout: 30000});
    out.snapshots.first = await metrics(page);
    await polled(page, 3);
    out.snapshots.later = await metrics(page);
    if (args.go) {
      while (!fs.existsSync(args.go)) await sleep(100);
      await polled(page, 2);
    }
    out.snapshots.settled = await metrics(page);
    await page.screenshot({path: path.join(args.out, 'pipeline.png'), fullPage: true});
    out.url_before_pages = page.url();

    const pages = ['table/OrdersRawTable', 'stream/kinesis-for-sales-data', 'pipe/orders-cdc-pipe',
                   'delivery/sales-delivery-stream', 'catalog'];
    for (const p of pages) {
      await page.goto(args.url + '#/' + p);
      await page.waitForFunction(name => document.getElementById('main').dataset.loaded === name,
                                 p.split('/')[0], {timeout: 30000});
      if (p.startsWith('delivery')) {
        const link = await page.$('#objects a.link');
        if (link) {
          await link.click();
          await page.waitForSelector('#object-lines pre', {timeout: 30000});
        }
      }
      out.pages[p] = (await page.textContent('#main')).slice(0, 4000);
      await page.screenshot({path: path.join(args.out, p.split('/')[0] + '.png'), fullPage: true});
    }

    await page.goto(args.url + '#/query');
    await page.waitForSelector('#sql', {timeout: 30000});
    if (args.sql) await page.fill('#sql', args.sql);
    await page.click('#run');
    await page.waitForSelector('#query-stats, #query-error', {timeout: 60000});
    out.query_error = await page.$eval('#result', e => (e.querySelector('#query-error') || {}).textContent || null);
    out.query_stats = await page.$eval('#result', e => (e.querySelector('#query-stats') || {}).textContent || null);
    out.query_columns = await page.$$eval('#result th', ths => ths.map(t => t.textContent));
    out.query_rows = await page.$$eval('#result tbody tr', trs => trs.map(tr => [...tr.children].map(td => td.textContent)));
    await page.waitForSelector('#history tbody tr', {timeout: 30000});
    out.history_rows = await page.$$eval('#history tbody tr', trs => trs.length);
    await page.screenshot({path: path.join(args.out, 'query.png'), fullPage: true});
  } finally {
    await ctx.close();
    fs.rmSync(profile, {recursive: true, force: true});
  }
  process.stdout.write(JSON.stringify(out) + '\n');
}

main().catch(e => { console.error(e.stack || String(e)); process.exit(1); });
