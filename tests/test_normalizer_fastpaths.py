"""The worker's jsdom fast paths (crawler/normalizer/fastpaths.js) change nothing a DOM user can see.

The same battery of DOM operations runs in two fresh Node processes, one with the fast paths installed
before jsdom loads and one with plain jsdom, and every observation must be identical: live
collections across mutations (what the memo and version shortcuts touch), subtree listings in tree
order (the lean treeToArray), roots and connectedness (nodeRoot), hierarchy errors, template contents,
MutationObserver records once an observer exists (the mutation-record shortcut must step aside), and
Readability's output on awkward documents. A few observations are also checked against their known
value, so that a battery broken in both processes alike cannot pass.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from crawler.normalizer.pool import WORKER_SCRIPT, find_node, find_node_modules

FIXTURES = Path(__file__).parent / "fixtures" / "normalizer"

BATTERY = r"""
const path = require('path');
const dir = process.env.POLICYTRACK_NODE_MODULES;
const load = (name) => require(path.join(dir, name));
if (process.argv[1] === 'fast') require(process.argv[2]).install(load);
const { JSDOM, VirtualConsole } = load('jsdom');
const Readability = load('@mozilla/readability/Readability.js');
const fs = require('fs');
const out = {};
const names = (list) => Array.from(list, (n) => n.nodeName + (n.id ? '#' + n.id : ''));

const dom = new JSDOM(`<!doctype html><html><head><title>t</title></head><body>
  <div id="a"><p id="p1">one<!--c--><b>x</b></p><div id="b"><p id="p2">two</p><span>s</span></div></div>
  <template id="t"><p id="tp">in template</p></template><table><tr><td id="td">cell</td></tr></table>
  </body></html>`, { url: 'https://example.com/a/b', virtualConsole: new VirtualConsole() });
const { document: d, window: w } = dom.window;
const a = d.getElementById('a');
const ps = a.getElementsByTagName('p');
const all = d.getElementsByTagName('*');
const kids = a.children;
const nodes = a.childNodes;
out.before = [names(ps), names(all), names(kids), nodes.length, ps === a.getElementsByTagName('p')];
const p3 = d.createElement('p'); p3.id = 'p3';
d.getElementById('b').appendChild(p3);
out.afterAppend = [names(ps), ps.length, names(all), names(kids), nodes.length,
  ps === a.getElementsByTagName('p'), names(a.getElementsByTagName('p'))];
a.insertBefore(p3, a.firstChild);
out.afterMove = [names(ps), names(kids), nodes.length, names(d.body.getElementsByTagName('p'))];
d.getElementById('p1').remove();
out.afterRemove = [names(ps), names(all), names(d.querySelectorAll('div p')), names(d.querySelectorAll('p, td'))];
d.getElementById('b').innerHTML = '<p id="p4">four</p><p id="p5">five<i>i</i></p>';
out.afterInnerHTML = [names(ps), names(a.getElementsByTagName('i')), a.textContent, d.body.innerHTML];
const detached = d.createElement('section');
detached.innerHTML = '<div><p id="d1">deep</p></div>';
const deep = detached.querySelector('#d1');
out.roots = [deep.getRootNode().nodeName, deep.isConnected, names(detached.getElementsByTagName('p'))];
d.body.appendChild(detached);
out.rootsAttached = [deep.getRootNode().nodeName, deep.isConnected, names(d.getElementsByTagName('p'))];
try { deep.appendChild(detached); out.cycle = 'no error'; } catch (e) { out.cycle = e.name; }
const hostCycle = (parent, child) => {
  try { parent.appendChild(child); return 'no error'; } catch (e) { return e.name; }
};
const host = d.createElement('template');
host.innerHTML = '<div id="inside"></div>';
out.hostCycle = [hostCycle(host.content.firstElementChild, host), hostCycle(deep, deep),
  hostCycle(d.createElement('div'), d.createTextNode('x')), hostCycle(d.createTextNode('y'), d.createElement('i'))];
const template = d.getElementById('t');
template.content.firstElementChild.appendChild(d.createElement('em'));
out.template = [names(template.content.querySelectorAll('*')), template.innerHTML,
  names(d.getElementsByTagName('em'))];
const svg = d.createElementNS('http://www.w3.org/2000/svg', 'svg');
for (const name of ['a', 'A', 'style', 'foreignObject', 'img']) {
  svg.appendChild(d.createElementNS(svg.namespaceURI, name));
}
d.body.appendChild(svg);
// Made only through createElementNS: names where nwsapi and the Selectors spec part ways.
const odd = d.createElement('div');
odd.appendChild(d.createElementNS('http://www.w3.org/1999/xhtml', 'IMG'));
odd.appendChild(d.createElementNS(svg.namespaceURI, 'x:img'));
odd.appendChild(d.createElement('img'));
const nsNames = (list) => Array.from(list, (n) => `${n.namespaceURI}:${n.localName}`);
out.selectors = ['a', 'img,picture,figure,video,audio,source', 'style', 'foreignobject', 'p,p,td', 'img,a',
  'svg', 'A', 'div p', 'P', 'a,'].map((selector) => {
  try { return [nsNames(d.querySelectorAll(selector)), nsNames(d.body.querySelectorAll(selector)),
    nsNames(svg.querySelectorAll(selector)), nsNames(template.content.querySelectorAll(selector)),
    nsNames(odd.querySelectorAll(selector))]; }
  catch (e) { return e.name; }
});
const td = d.getElementById('td');
td.firstChild.data += ' more';
out.text = [td.textContent, d.body.textContent.replace(/\s+/g, ' ')];

const records = [];
const observer = new w.MutationObserver((list) => {
  for (const r of list) records.push([r.type, r.target.nodeName, r.addedNodes.length, r.removedNodes.length,
    r.attributeName, r.oldValue]);
});
d.body.appendChild(d.createElement('hr'));  // before observe(): no record
observer.observe(d.body, { subtree: true, childList: true, attributes: true, characterData: true,
  attributeOldValue: true, characterDataOldValue: true });
d.body.appendChild(d.createElement('aside'));
td.setAttribute('class', 'x');
td.firstChild.data = 'changed';
d.getElementById('p4').remove();

const readable = JSON.parse(process.argv[3]).map((html) => {
  const doc = new JSDOM(html, { url: 'https://example.com/x', virtualConsole: new VirtualConsole() }).window.document;
  const article = new Readability(doc).parse();
  return article && [article.title, article.content];
});

setTimeout(() => {
  out.records = records;
  out.readable = readable;
  process.stdout.write(JSON.stringify(out));
}, 0);
"""


def awkward_documents() -> list[str]:
    policy = (FIXTURES / "policy.html").read_text("utf-8")
    paragraphs = "".join(f"<p>Paragraph {i}, with commas, and enough words to count as content here.</p>"
                         for i in range(12))
    return [
        policy,
        # Retries: too little text for the first pass, so Readability re-parses the body (innerHTML) and
        # runs again with fewer flags; divs turned into paragraphs; unlikely candidates; nested tables.
        "<html><body><div class='comment'>" + paragraphs + "</div><div>short</div>"
        "<table><tr><td><table><tr><td>" + paragraphs + "</td></tr></table></td></tr></table></body></html>",
        "<html><head><title>A: b c d e f</title></head><body><h2>Policy</h2><div><div><div>"
        + paragraphs + "<br><br>after brs<font>font</font></div></div></div>"
        "<noscript><img src='a.png'></noscript><div hidden>hidden</div></body></html>",
    ]


def run_battery(mode: str) -> dict:
    env = {**os.environ, "POLICYTRACK_NODE_MODULES": str(find_node_modules())}
    fastpaths = str(WORKER_SCRIPT.with_name("fastpaths.js"))
    done = subprocess.run([find_node(), "-e", BATTERY, mode, fastpaths, json.dumps(awkward_documents())],
                          capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout)


@pytest.fixture(scope="module")
def plain() -> dict:
    return run_battery("plain")


@pytest.fixture(scope="module")
def fast() -> dict:
    return run_battery("fast")


OBSERVATIONS = ["before", "afterAppend", "afterMove", "afterRemove", "afterInnerHTML", "roots", "rootsAttached",
                "cycle", "hostCycle", "selectors", "template", "text", "records", "readable"]


@pytest.mark.parametrize("observation", OBSERVATIONS)
def test_fast_paths_observe_the_same_dom(plain, fast, observation):
    assert fast[observation] == plain[observation]


def test_battery_sees_what_jsdom_promises(fast):
    # Live collections follow mutations; a changed subtree gets a fresh collection object.
    assert fast["afterAppend"][0] == ["P#p1", "P#p2", "P#p3"] and fast["afterAppend"][5] is False
    assert fast["afterMove"][0] == ["P#p3", "P#p1", "P#p2"]
    assert fast["cycle"] == "HierarchyRequestError"
    # A template into its own contents, a node into itself, anything into a Text node: refused.
    assert fast["hostCycle"] == ["HierarchyRequestError", "HierarchyRequestError", "no error",
                                 "HierarchyRequestError"]
    assert fast["roots"][:2] == ["SECTION", False] and fast["rootsAttached"][:2] == ["#document", True]
    svg, html = "http://www.w3.org/2000/svg", "http://www.w3.org/1999/xhtml"
    assert fast["selectors"][0][0] == [f"{svg}:a"] and fast["selectors"][7][0] == [f"{svg}:A"]
    assert fast["selectors"][1][0] == [f"{svg}:img"] and fast["selectors"][1][4] == [f"{html}:img"]
    assert fast["selectors"][-1] == "SyntaxError"
    # The observer sees exactly the four mutations made after observe(), none before.
    assert [record[0] for record in fast["records"]] == ["childList", "attributes", "characterData", "childList"]
    assert all(article for article in fast["readable"])
