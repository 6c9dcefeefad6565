'use strict';
/*
 * policytrack normalizer: long-lived Readability.js extraction worker.
 *
 * Why a worker: starting Node and loading jsdom costs ~0.5 s, far more than extracting one document,
 * so the Python side keeps a pool of these processes and feeds them one document at a time.
 *
 * Protocol (newline-delimited JSON, one request in flight per worker):
 *   stdout, once at start:  {"ready": true, "readability": "<version>", "jsdom": "<version>"}
 *                       or  {"fatal": "<message>"} and exit code 3 when the modules cannot be loaded
 *   stdin request:          {"id": n, "html": "<decoded document>", "url": "<snapshot URL>"[, "whole": true]}
 *                           ("whole": skip Readability, extract the whole body: documents too large for it)
 *   stdout response:        {"id": n, "ok": true, "title": "...", "content": "<html>", "extraction": "readability"|"fallback",
 *                            "rss": <bytes resident>}
 *                       or  {"id": n, "ok": false, "reason": "no-text"|"extractor-error", "error": "...", "rss": <bytes>}
 *                           ("rss": the worker's resident memory after the document; the pool recycles a worker on it)
 * The worker exits when stdin closes.
 *
 * Browser behaviour: links, titles and <noscript> parsing follow the Chromium that made the corpus where
 * it differs from jsdom (chromium.js). Speed: exact shortcuts through jsdom's internals (fastpaths.js).
 *
 * Modules: resolved from POLICYTRACK_NODE_MODULES (a node_modules directory) when set, otherwise by
 * Node's normal lookup (upward from this file to the repository's node_modules, then NODE_PATH).
 *
 * Test-only debug hooks, active only when POLICYTRACK_NORMALIZER_DEBUG=1 in the worker's environment:
 * a document containing <!--policytrack-debug:hang--> makes the worker spin forever, and one
 * containing <!--policytrack-debug:crash--> makes it exit abruptly with code 70.
 */

const path = require('path');
const readline = require('readline');

// Keep stdout for the protocol: anything a library logs goes to stderr.
for (const level of ['log', 'info', 'warn', 'error', 'debug']) {
  console[level] = (...args) => process.stderr.write(args.map(String).join(' ') + '\n');
}

function send(message) {
  process.stdout.write(JSON.stringify(message) + '\n');
}

function load(name) {
  const dir = process.env.POLICYTRACK_NODE_MODULES;
  return require(dir ? path.join(dir, name) : name);
}

function versionOf(name) {
  try {
    const dir = process.env.POLICYTRACK_NODE_MODULES;
    const main = require.resolve(dir ? path.join(dir, name) : name);
    let here = path.dirname(main);
    for (let i = 0; i < 5; i += 1) {
      try {
        const pkg = require(path.join(here, 'package.json'));
        if (pkg.name === name) return pkg.version;
      } catch (e) { /* keep walking up */ }
      here = path.dirname(here);
    }
  } catch (e) { /* unknown */ }
  return null;
}

const { ChromiumURL, chromiumTitle, enableScriptingFlag } = require('./chromium');

// Readability.js resolves links with the global URL; it gets Chromium's instead (see chromium.js),
// through a wrapper, so that nothing else in the process sees a different URL.
function loadReadability() {
  const dir = process.env.POLICYTRACK_NODE_MODULES;
  const file = require.resolve(dir ? path.join(dir, '@mozilla/readability/Readability.js')
    : '@mozilla/readability/Readability.js');
  const source = require('fs').readFileSync(file, 'utf8');
  const module = {};
  // eslint-disable-next-line no-new-func
  new Function('URL', 'module', source)(ChromiumURL, module);
  return module.exports;
}

let JSDOM, VirtualConsole, Readability;
try {
  // Exact shortcuts through jsdom's tree bookkeeping; they must be in place before jsdom loads.
  require('./fastpaths').install(load);
  ({ JSDOM, VirtualConsole } = load('jsdom'));
  enableScriptingFlag(load('jsdom/lib/jsdom/browser/parser/html.js'));
  Readability = loadReadability();
} catch (e) {
  send({ fatal: `cannot load jsdom/@mozilla/readability: ${String(e.message).split('\n')[0]}` });
  process.exit(3);
}

const DEBUG = process.env.POLICYTRACK_NORMALIZER_DEBUG === '1';

// One window for the worker's life; each document is parsed into a new Document of it (DOMParser) after
// the window's URL is set to the document's snapshot URL, so document.URL and baseURI are as if it had
// been loaded there. A new JSDOM per document built and tore down a whole window (a VM context with
// every DOM interface, nested windows for iframes) each time: 1.4-2x the CPU for the same documents,
// byte-identical on every corpus pair. A VirtualConsole with no listeners: page scripts never run, and
// CSS parse noise is dropped.
const shared = new JSDOM('', { url: 'about:blank', virtualConsole: new VirtualConsole() });
const domParser = new shared.window.DOMParser();

function parse(html, url) {
  shared.reconfigure({ url });
  return domParser.parseFromString(html, 'text/html');
}

// When Readability finds no article: the whole body, scripts and styles removed, links made absolute
// like Readability's own _fixRelativeUris does, so fallback documents resolve links the same way.
function wholeBody(html, url) {
  const doc = parse(html, url);
  if (!doc.body) return null;
  for (const node of Array.from(doc.body.querySelectorAll('script, style, template'))) node.remove();
  const baseURI = doc.baseURI;
  const documentURI = doc.documentURI;
  const absolute = (uri) => {
    if (baseURI === documentURI && uri.charAt(0) === '#') return uri;
    try { return new ChromiumURL(uri, baseURI).href; } catch (e) { return uri; }
  };
  for (const link of Array.from(doc.body.querySelectorAll('a[href]'))) {
    const href = link.getAttribute('href');
    if (!/^\s*javascript:/i.test(href)) link.setAttribute('href', absolute(href));
  }
  for (const media of Array.from(doc.body.querySelectorAll('img[src]'))) {
    media.setAttribute('src', absolute(media.getAttribute('src')));
  }
  if (!doc.body.textContent.trim()) return null;
  return doc.body.innerHTML;
}

function extract(request) {
  const { html, url } = request;
  if (DEBUG && html.includes('<!--policytrack-debug:hang-->')) {
    for (;;) { /* simulate a hung extraction */ }
  }
  if (DEBUG && html.includes('<!--policytrack-debug:crash-->')) {
    process.exit(70);
  }
  const doc = parse(html, url);
  const title = chromiumTitle(doc);
  const article = request.whole ? null : new Readability(doc).parse();
  if (article && article.content) {
    return { ok: true, title, content: article.content, extraction: 'readability' };
  }
  const body = wholeBody(html, url);
  if (body === null) {
    return { ok: false, reason: 'no-text', error: 'the document has no text' };
  }
  return { ok: true, title, content: body, extraction: 'fallback' };
}

const input = readline.createInterface({ input: process.stdin, crlfDelay: Infinity, terminal: false });
input.on('line', (line) => {
  if (!line) return;
  let request;
  try {
    request = JSON.parse(line);
  } catch (e) {
    send({ id: null, ok: false, reason: 'extractor-error', error: `bad request: ${e.message}` });
    return;
  }
  let response;
  try {
    response = extract(request);
  } catch (e) {
    response = { ok: false, reason: 'extractor-error', error: String((e && e.stack) || e).slice(0, 2000) };
  }
  response.id = request.id;
  response.rss = process.memoryUsage.rss();
  send(response);
});
input.on('close', () => process.exit(0));

send({ ready: true, readability: versionOf('@mozilla/readability'), jsdom: versionOf('jsdom') });
