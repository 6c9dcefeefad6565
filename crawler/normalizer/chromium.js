'use strict';
/*
 * Where the Chromium that made the corpus and a spec DOM (jsdom, Node's WHATWG URL) disagree in ways
 * that reach a document's text, Chromium's answer. Each rule has a test in tests/test_normalizer.py and
 * a line in docs/ARCHITECTURE.md.
 *
 * - URL hosts. Readability writes `new URL(href, base).href` into every link, and html2text prints it.
 *   Chromium's host canonicalizer (url/url_canon_host.cc, kHostCharLookup, as it stood until its 2023
 *   alignment with the URL Standard, crbug.com/1416013) percent-escapes  space ! " $ & ' ( ) * , < = > @ `
 *   { | }  and rejects  % ; \ ^ ~  and controls, where the WHATWG parser keeps most of them as they are
 *   and rejects < > | ^ space. Its IDNA was UTS #46 *transitional* (ß -> ss, ς -> σ, joiners dropped).
 * - document.title. Chromium's CanonicalizedTitle treats every character <= U+0020 except U+000B, and
 *   U+007F, as whitespace (trimmed, runs collapsed to one space); the DOM spec only ASCII whitespace.
 * - <noscript>. Chromium parses with scripting enabled, so a noscript's content is raw text; jsdom parses
 *   with scripting disabled, where markup in a <head> noscript ends the head and lands in the body.
 */

const NodeURL = URL;

const HOST_ESCAPED = new Set(' !"$&\'()*,<=>@`{|}');
const HOST_INVALID = /[\x00-\x1f%;\\^~\x7f]/;
const AUTHORITY = /^([a-zA-Z][a-zA-Z0-9+.-]*:)?[\\/][\\/]([^\\/?#]*)/;
const SPECIAL = new Set(['http:', 'https:', 'ftp:', 'ws:', 'wss:']);
const PLACEHOLDER = 'policytrack-host.invalid';
const DEVIATIONS = /[\u00df\u03c2\u200c\u200d]/g;
const DEVIATION_MAP = { '\u00df': 'ss', '\u03c2': '\u03c3', '\u200c': '', '\u200d': '' };

function percentDecode(text) {
  if (!text.includes('%')) return text;
  const bytes = [];
  for (let i = 0; i < text.length; i += 1) {
    if (text[i] === '%' && /^[0-9a-fA-F]{2}$/.test(text.slice(i + 1, i + 3))) {
      bytes.push(parseInt(text.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      for (const byte of Buffer.from(text[i], 'utf8')) bytes.push(byte);
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

/** `new URL(input, base)` as Chromium resolved it; only `.href` is read by Readability. */
function ChromiumURL(input, base) {
  // Both parsers drop leading/trailing C0-and-space and every tab and newline before anything else.
  const cleaned = String(input).replace(/^[\x00-\x20]+|[\x00-\x20]+$/g, '').replace(/[\t\n\r]/g, '');
  const match = AUTHORITY.exec(cleaned);
  const scheme = match && (match[1] ? match[1].toLowerCase() : base !== undefined && new NodeURL(base).protocol);
  if (!match || !SPECIAL.has(scheme)) return new NodeURL(input, base);
  const authority = match[2];
  const hostStart = match[0].length - authority.length + authority.lastIndexOf('@') + 1;
  const hostPort = cleaned.slice(hostStart, match[0].length);
  if (hostPort.startsWith('[')) return new NodeURL(input, base); // IPv6: the same in both
  const colon = hostPort.indexOf(':');
  const rawHost = colon < 0 ? hostPort : hostPort.slice(0, colon);
  const host = percentDecode(rawHost);
  let canonical;
  if (/[^\x00-\x7f]/.test(host)) {
    const mapped = host.toLowerCase().replace(DEVIATIONS, (c) => DEVIATION_MAP[c]);
    if (mapped === host.toLowerCase()) return new NodeURL(input, base);
    canonical = new NodeURL(`http://${mapped}/`).hostname;
  } else {
    if (HOST_INVALID.test(host)) throw new TypeError(`Invalid URL (Chromium rejects this host): ${input}`);
    canonical = Array.from(host, (c) => (HOST_ESCAPED.has(c)
      ? `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}` : c.toLowerCase())).join('');
    if (canonical === host.toLowerCase()) return new NodeURL(input, base);
  }
  const standIn = cleaned.slice(0, hostStart) + PLACEHOLDER + cleaned.slice(hostStart + rawHost.length);
  const href = new NodeURL(standIn, base).href.replace(PLACEHOLDER, canonical);
  return { href, toString: () => href };
}

/** document.title as Chromium's CanonicalizedTitle makes it (see above). */
function chromiumTitle(doc) {
  return doc.title.replace(/[\x00-\x0a\x0c-\x20\x7f]+/g, ' ').replace(/^ | $/g, '');
}

/**
 * jsdom parses with scripting disabled; make its HTML parser (document and innerHTML fragments) parse
 * with scripting enabled, as Chromium does. Scripts still never run: jsdom runs none without runScripts.
 */
function enableScriptingFlag(htmlParser) {
  for (const name of ['parseIntoDocument', 'parseFragment']) {
    const original = htmlParser[name];
    if (typeof original !== 'function') throw new Error(`jsdom's HTML parser has no ${name}`);
    htmlParser[name] = function parseWithScripting(markup, node) {
      const doc = node._ownerDocument || node;
      doc._parseOptions = { ...doc._parseOptions, scriptingEnabled: true };
      return original(markup, node);
    };
  }
}

module.exports = { ChromiumURL, chromiumTitle, enableScriptingFlag };
