// Drives the chat page that `moxing serve` serves at / (web/index.html, chat.js, chat.css)
// in headless Chromium against a live server.
//
//   cd tests/js && npm ci            # once
//   MOXING_BIN=build/release/moxing MOXING_SHARED_DIR=/work/shared \
//     node --test tests/js/chat_page.test.mjs
//
// MOXING_MODEL defaults to stories260K.gguf under MOXING_SHARED_DIR; CHROMIUM to
// /usr/bin/chromium (the test is skipped without it); TEST_OUTPUT_DIR (default a new temp
// dir) receives chat_page.png and chat_page_narrow.png. The server runs with --api-key, so the
// page must load without the key and let the user enter it. It also runs with -c 4096:
// stories260K's own context is 128 tokens, too short a reply to click Stop in. Server and
// browser are stopped at the end whatever happens.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { startServer, metrics, sleep, KEY, STORIES } from './moxing_server.mjs';

const MODEL = process.env.MOXING_MODEL || STORIES;
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const LONG = 3000;  // max tokens of the reply that gets stopped; it takes seconds to generate

const skip = existsSync(CHROMIUM) ? false : `no Chromium at ${CHROMIUM} (apt-get install chromium)`;

// ---------------------------------------------------------------------------------------
// The server and the browser

let server = null;
let browser = null;
let page = null;
const pageErrors = [];  // uncaught exceptions in the page

before(async () => {
  if (skip) return;
  server = await startServer({ model: MODEL, ctx: 4096 });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'], headless: true });
  const context = await browser.newContext({ viewport: { width: 1000, height: 760 } });
  page = await context.newPage();
  page.setDefaultTimeout(15_000);
  page.on('pageerror', (e) => pageErrors.push(e));
});

after(async () => {
  if (browser) await browser.close().catch(() => {});
  await server?.stop();
});

// What the conversation shows: [{role, text, finish}], role from the class after "message".
const conversation = () => page.$$eval('#messages .message', (els) => els.map((el) => ({
  role: [...el.classList].find((c) => c !== 'message'),
  text: el.querySelector('.text').textContent,
  finish: el.dataset.finish || null,
})));
const lastAssistant = () => page.evaluate(() => {
  const all = document.querySelectorAll('#messages .message.assistant');
  const el = all[all.length - 1];
  return el ? { text: el.querySelector('.text').textContent, finish: el.dataset.finish || null,
                meta: el.querySelector('.meta').textContent } : null;
});
const waitIdle = (timeout = 30_000) =>
  page.waitForFunction(() => document.body.dataset.state === 'idle', null, { timeout });

// ---------------------------------------------------------------------------------------

test('chat page', { skip, timeout: 180_000 }, async (t) => {
  // Screenshots (and one of a failure) go here.
  const OUT = process.env.TEST_OUTPUT_DIR || mkdtempSync(path.join(os.tmpdir(), 'moxing-chat-page-'));
  mkdirSync(OUT, { recursive: true });
  rmSync(path.join(OUT, 'chat_page_failure.png'), { force: true });  // from an earlier run
  // Each step builds on the page the steps before left, so after a failure the rest are skipped.
  let failed = null;
  const step = (name, fn) => t.test(name, { skip: failed ? `after the failure of "${failed}"` : false }, async (st) => {
    try {
      await fn(st);
    } catch (e) {
      failed = name;
      await page.screenshot({ path: path.join(OUT, 'chat_page_failure.png') }).catch(() => {});
      throw e;
    }
  });

  await step('/ serves the page and its assets without the API key', async () => {
    const res = await fetch(`${server.base}/`);
    assert.equal(res.status, 200, 'GET / must not need the API key (a browser cannot send it when opening a page)');
    assert.match(res.headers.get('content-type') || '', /^text\/html/);
    const html = await res.text();
    assert.match(html, /src="chat\.js"/);
    for (const [name, type] of [['chat.js', /^(text|application)\/javascript/], ['chat.css', /^text\/css/]]) {
      const r = await fetch(`${server.base}/${name}`);
      assert.equal(r.status, 200, `GET /${name}`);
      // Chromium ignores a stylesheet served under another type.
      assert.match(r.headers.get('content-type') || '', type, `content type of /${name}`);
    }
    const nav = await page.goto(`${server.base}/`);
    assert.equal(nav.status(), 200);
    assert.equal(await page.evaluate(() => getComputedStyle(document.body).display), 'flex', 'chat.css is applied');
  });

  await step('without the key the model is unavailable; entering it shows the model', async () => {
    await page.waitForFunction(() => document.getElementById('model-name').textContent === 'unavailable');
    assert.match(await page.getAttribute('#model-name', 'title'), /API key/);
    assert.equal(await page.$eval('#settings', (d) => d.open), true, 'settings open to show the key field');
    await page.fill('#api-key', KEY);
    await page.press('#api-key', 'Tab');  // "change" fires when the field loses focus
    await page.waitForFunction(() => document.getElementById('model-name').textContent === 'stories260K');
  });

  await step('a reply streams in', async (st) => {
    await page.fill('#system-prompt', 'You tell short stories.');
    await page.fill('#temperature', '0');
    await page.fill('#max-tokens', '80');
    const response = page.waitForResponse((r) => r.url().endsWith('/v1/chat/completions'));
    await page.fill('#prompt', 'Tell me a story about a cat.');
    await page.click('#send');
    const res = await response;
    assert.equal(res.status(), 200);
    assert.match(res.headers()['content-type'], /^text\/event-stream/);
    const req = res.request();
    assert.equal((await req.allHeaders()).authorization, `Bearer ${KEY}`);
    const body = req.postDataJSON();
    assert.equal(body.stream, true);
    assert.equal(body.temperature, 0);
    assert.equal(body.max_tokens, 80);
    assert.deepEqual(body.messages, [{ role: 'system', content: 'You tell short stories.' },
                                     { role: 'user', content: 'Tell me a story about a cat.' }]);
    for (const unset of ['top_p', 'top_k', 'min_p', 'repeat_penalty']) assert.ok(!(unset in body), `${unset} not sent`);

    await waitIdle();
    assert.equal(await page.inputValue('#prompt'), '', 'the text box is cleared');
    const reply = await lastAssistant();
    assert.ok(reply.text.trim().length > 0, 'the reply has text');
    assert.ok(['stop', 'length', 'repetition'].includes(reply.finish), `finish reason ${reply.finish}`);
    assert.ok(reply.meta.length > 0, 'the finish reason is shown');
    // The reply came as server-sent events and the page shows their text. How many events
    // carry it depends on timing: the server sends what was generated since its last write,
    // so on a busy machine a short reply can come in one event. (Whether it is drawn in steps
    // is checked with the long reply below.)
    const events = (await res.text()).split('\n\n').filter((e) => e !== '');
    assert.equal(events.at(-1), 'data: [DONE]');
    const chunks = events.slice(0, -1).map((e) => JSON.parse(e.replace(/^data: /, '')));
    const deltas = chunks.map((c) => c.choices[0].delta.content || '').filter((d) => d !== '');
    assert.ok(deltas.length >= 1, 'a chunk with text');
    assert.equal(deltas.join(''), reply.text);
    assert.equal(chunks.at(-1).choices[0].finish_reason, reply.finish);
    st.diagnostic(`${reply.text.length} characters in ${deltas.length} chunks, finish_reason ${reply.finish}`);
    assert.deepEqual((await conversation()).map((m) => m.role), ['user', 'assistant']);
  });

  await step('Shift+Enter adds a line; Enter on an empty box sends nothing', async () => {
    await page.fill('#prompt', '');
    await page.press('#prompt', 'Enter');
    await page.type('#prompt', 'one');
    await page.keyboard.press('Shift+Enter');
    await page.keyboard.type('two');
    assert.equal(await page.inputValue('#prompt'), 'one\ntwo');
    assert.equal((await conversation()).length, 2);
    await page.fill('#prompt', '');
  });

  await step('Stop aborts a long reply and the server frees its sequence', async () => {
    await page.fill('#temperature', '');  // greedy text may loop and be stopped by the loop guard
    await page.fill('#max-tokens', String(LONG));
    const before = await metrics(server);
    await page.fill('#prompt', 'Tell me a very long story.');
    await page.press('#prompt', 'Enter');
    // The text shows while the reply is still streaming, and keeps growing.
    const streamedAtLeast = (n) => page.waitForFunction((n) => {
      const all = document.querySelectorAll('#messages .message.assistant');
      const text = all.length === 2 ? all[1].querySelector('.text').textContent : '';
      return document.body.dataset.state === 'streaming' && text.length >= n ? text.length : 0;
    }, n).then((h) => h.jsonValue());
    const first = await streamedAtLeast(1);
    await streamedAtLeast(first + 20);
    assert.equal(await page.isDisabled('#send'), true, 'Send is disabled while streaming');
    assert.equal(await page.isEnabled('#stop'), true);
    const clicked = Date.now();
    await page.click('#stop');
    await waitIdle(3_000);
    assert.ok(Date.now() - clicked < 3_000);
    const reply = await lastAssistant();
    assert.equal(reply.finish, 'aborted');
    assert.ok(reply.meta.length > 0);
    assert.equal(await page.isEnabled('#send'), true);
    assert.equal(await page.isDisabled('#stop'), true);
    const shown = reply.text.length;
    await sleep(300);
    assert.equal((await lastAssistant()).text.length, shown, 'no more text after Stop');

    // The dropped connection cancels the request: no sequence left running, far fewer
    // tokens generated than asked for, and the server still answers.
    const deadline = Date.now() + 5_000;
    let m = await metrics(server);
    while (m.moxing_active_sequences !== 0 && Date.now() < deadline) { await sleep(100); m = await metrics(server); }
    assert.equal(m.moxing_active_sequences, 0, 'the stopped request still runs on the server');
    assert.ok(m.moxing_generated_tokens_total - before.moxing_generated_tokens_total < LONG);
    assert.equal((await fetch(`${server.base}/health`)).status, 200);
  });

  await step('server errors are shown; text is never parsed as HTML', async () => {
    const evil = '<img src=x onerror="window.injected=1"><b>bold</b>';
    await page.fill('#temperature', '5');  // the server allows 0..2
    await page.fill('#prompt', evil);
    await page.click('#send');
    await page.waitForSelector('#messages .message.error');
    await waitIdle();
    const error = await page.textContent('#messages .message.error .text');
    assert.match(error, /temperature/);
    assert.match(error, /400/);
    const conv = await conversation();
    assert.deepEqual(conv.map((m) => m.role), ['user', 'assistant', 'user', 'assistant', 'user', 'error'],
                     'no empty reply is left for a failed request');
    assert.equal(conv[4].text, evil);
    assert.equal(await page.$$eval('#messages img, #messages b', (els) => els.length), 0);
    assert.equal(await page.evaluate(() => window.injected), undefined);
    await page.fill('#temperature', '');
  });

  await step('a reload keeps the conversation and the settings', async () => {
    const conv = await conversation();
    await page.reload();
    await page.waitForFunction(() => document.getElementById('model-name').textContent === 'stories260K');
    assert.deepEqual(await conversation(), conv);
    assert.equal(await page.inputValue('#api-key'), KEY);
    assert.equal(await page.inputValue('#system-prompt'), 'You tell short stories.');
    assert.equal(await page.inputValue('#max-tokens'), String(LONG));
    assert.equal(await page.inputValue('#temperature'), '');
  });

  await step('screenshots; a narrow window does not scroll sideways', async (st) => {
    await page.screenshot({ path: path.join(OUT, 'chat_page.png') });
    await page.setViewportSize({ width: 360, height: 700 });
    assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth));
    await page.screenshot({ path: path.join(OUT, 'chat_page_narrow.png') });
    await page.setViewportSize({ width: 1000, height: 760 });
    st.diagnostic(`screenshots in ${OUT}`);
  });

  await step('the event parser skips pings and usage chunks, takes CRLF, keeps UTF-8', async () => {
    // A crafted stream for what the tiny model does not produce: pings (after 15 s of silence),
    // CRLF line ends, a usage chunk without choices, non-ASCII text, the "repetition" finish.
    const chunk = (delta, finish = null) => `data: ${JSON.stringify({ choices: [{ index: 0, delta, finish_reason: finish }] })}`;
    const body = [': ping', '', chunk({ role: 'assistant', content: '' }), '', chunk({ content: 'Grüße, ' }), '',
                  ': ping', '', chunk({ content: '世界 🙂' }), '', chunk({}, 'repetition'), '',
                  `data: ${JSON.stringify({ choices: [], usage: { completion_tokens: 3 } })}`, '', 'data: [DONE]', '', ''].join('\r\n');
    // Served by a stand-in fetch, three bytes per read: reads end inside lines and inside
    // UTF-8 characters (ü is 2 bytes, 世 3, 🙂 4).
    await page.evaluate((text) => {
      const realFetch = window.fetch;
      window.fetch = async (url, init) => {
        if (!String(url).endsWith('chat/completions')) return realFetch(url, init);
        window.fetch = realFetch;  // only this once
        const bytes = new TextEncoder().encode(text);
        let at = 0;
        const stream = new ReadableStream({
          pull(controller) {
            if (at >= bytes.length) return controller.close();
            controller.enqueue(bytes.slice(at, at + 3));
            at += 3;
          },
        });
        return new Response(stream, { status: 200, headers: { 'Content-Type': 'text/event-stream' } });
      };
    }, body);
    await page.fill('#prompt', 'crafted');
    await page.click('#send');  // the page is busy from the click on, so waiting for idle waits for the reply
    await waitIdle();
    const reply = await lastAssistant();
    assert.equal(reply.text, 'Grüße, 世界 🙂');
    assert.equal(reply.finish, 'repetition');
    assert.match(reply.meta, /repetition/);
  });

  await step('New chat clears the conversation, also after a reload', async () => {
    await page.click('#new-chat');
    assert.equal((await conversation()).length, 0);
    await page.reload();
    await page.waitForSelector('#model-name');
    assert.equal((await conversation()).length, 0);
    assert.equal(await page.isVisible('#empty-hint'), true);
  });

  await t.test('no uncaught errors in the page', () => {
    assert.deepEqual(pageErrors.map(String), []);
  });
});
