'use strict';
/*
 * Exact shortcuts through jsdom's internals for what the extraction worker does. install() runs before
 * the worker loads jsdom: helper functions that jsdom's modules copy when they load are replaced first,
 * then jsdom is loaded and prototypes are patched in place. Each shortcut leaves every DOM result
 * identical; why is written next to it, and tests/test_normalizer_fastpaths.py compares a battery of
 * DOM operations with and without them. Readability.js itself is never touched.
 */

/**
 * Mutation records. Every DOM change (each parser insertion, each `text.data +=` of the parser, each
 * attribute set, each of Readability's moves) "queues a mutation record": jsdom walks every ancestor of
 * the changed node looking for registered MutationObservers and allocates an array of them. Observers
 * are registered only by MutationObserver.observe(), which nothing in the worker calls: page scripts
 * never run (no runScripts) and neither Readability nor our code creates observers. With no observer
 * registered anywhere, the walk finds nothing and queues no record, so the only effect left is the
 * compound microtask (which then finds no observer and no slot to notify); that is kept. The moment
 * anything calls observe(), the original functions are used again.
 */
function skipMutationRecordsWithoutObservers(load) {
  const observers = load('jsdom/lib/jsdom/living/helpers/mutation-observers.js');
  const observerImpl = load('jsdom/lib/jsdom/living/mutation-observer/MutationObserver-impl.js').implementation;
  let observed = false;
  const observe = observerImpl.prototype.observe;
  observerImpl.prototype.observe = function observeAndRecord(...args) {
    observed = true;
    return observe.apply(this, args);
  };
  for (const name of ['queueMutationRecord', 'queueTreeMutationRecord', 'queueAttributeMutationRecord']) {
    const original = observers[name];
    if (typeof original !== 'function') throw new Error(`jsdom has no ${name}`);
    observers[name] = function queueIfObserved(...args) {
      if (observed) return original.apply(this, args);
      return observers.queueMutationObserverMicrotask();
    };
  }
}

/**
 * Memoized queries. jsdom memoizes getElementsByTagName/ClassName per node and, on every DOM change,
 * forgets the memos of the changed node and all its ancestors by giving each a new empty object, in a
 * second walk up the tree after the one that bumps their versions. Here one walk does both, and a
 * forgotten memo is a shared frozen empty object that the (equally replaced) memoizing wrapper swaps
 * for a fresh one at its first write. Same memos at every read, same versions (the changed node's
 * rises by 2, as jsdom's inclusive-ancestor loop after its own ++ makes it), same order of effects
 * seen by the live children/childNodes lists (which never read memos); no allocation per ancestor.
 */
function singleWalkModified(load) {
  const utils = load('jsdom/lib/jsdom/utils.js');
  const FORGOTTEN = Object.freeze(Object.create(null));
  let queryTypes = 0;
  utils.memoizeQuery = function memoizeQuery(fn) {
    if (fn.length > 2) return fn; // jsdom memoizes only arity <= 2
    const type = `policytrack${queryTypes++}`;
    return function memoized(...args) {
      let memos = this._memoizedQueries;
      if (!memos) return fn.apply(this, args);
      let key;
      if (args.length === 1 && typeof args[0] === 'string') {
        key = args[0];
      } else if (args.length === 2 && typeof args[0] === 'string' && typeof args[1] === 'string') {
        key = `${args[0]}::${args[1]}`;
      } else {
        return fn.apply(this, args);
      }
      if (memos === FORGOTTEN) memos = this._memoizedQueries = {};
      const memo = memos[type] || (memos[type] = Object.create(null));
      if (!(key in memo)) memo[key] = fn.apply(this, args);
      return memo[key];
    };
  };
  return FORGOTTEN;
}

function singleWalkModifiedAfterLoad(load, FORGOTTEN) {
  const { domSymbolTree } = load('jsdom/lib/jsdom/living/helpers/internal-constants.js');
  const { invalidateStyleCache } = load('jsdom/lib/jsdom/living/helpers/style-rules.js');
  const NodeImpl = load('jsdom/lib/jsdom/living/nodes/Node-impl.js').implementation;
  const ElementImpl = load('jsdom/lib/jsdom/living/nodes/Element-impl.js').implementation;
  // jsdom's own memoizing wrapper would write into the frozen forgotten memo: it must not be in use.
  if (ElementImpl.prototype.getElementsByTagName.name !== 'memoized') {
    throw new Error('jsdom was loaded before the memoized-query shortcut could be installed');
  }
  for (const name of ['_modified', '_clearMemoizedQueries']) {
    if (typeof NodeImpl.prototype[name] !== 'function') throw new Error(`jsdom's Node has no ${name}`);
  }
  NodeImpl.prototype._modified = function modified() {
    this._version += 2;
    this._memoizedQueries = FORGOTTEN;
    for (let node = domSymbolTree.parent(this); node; node = domSymbolTree.parent(node)) {
      node._version++;
      node._memoizedQueries = FORGOTTEN;
    }
    if (this._childrenList) this._childrenList._update();
    if (this._childNodesList) this._childNodesList._update();
    invalidateStyleCache(this);
  };
  NodeImpl.prototype._clearMemoizedQueries = function clearMemoizedQueries() {
    for (let node = this; node; node = domSymbolTree.parent(node)) node._memoizedQueries = FORGOTTEN;
  };
}

/**
 * Subtree listing. getElementsByTagName (and so nwsapi's tag selectors, which call it) lists a subtree
 * with symbol-tree's treeToArray, which takes each next node from following(), allocating an options
 * object and reading the node's tree record up to three times per step. The same pre-order walk with
 * one read per step: the same nodes, in the same order, through the same filter.
 */
function leanTreeToArray(load) {
  const { domSymbolTree } = load('jsdom/lib/jsdom/living/helpers/internal-constants.js');
  const { symbol } = domSymbolTree;
  if (typeof symbol !== 'symbol' || typeof domSymbolTree.treeToArray !== 'function') {
    throw new Error("jsdom's symbol tree has changed shape");
  }
  const record = (object) => object[symbol] || domSymbolTree._node(object);
  domSymbolTree.treeToArray = function treeToArray(root, options) {
    const array = (options && options.array) || [];
    const filter = options && options.filter;
    const thisArg = (options && options.thisArg) || undefined;
    let object = root;
    while (object) {
      if (!filter || filter.call(thisArg, object)) array.push(object);
      let next = record(object).firstChild;
      while (!next) {
        if (object === root) return array;
        const here = record(object);
        next = here.nextSibling;
        if (!next) {
          object = here.parent;
          if (!object) return array;
        }
      }
      object = next;
    }
    return array;
  };
}

/**
 * Tree roots. nodeRoot (asked on every insertion: is the node connected, is its root a shadow root, is
 * the new parent inside the new child) reads each ancestor's parent twice on its way up; this reads it
 * once. Same root.
 */
function singleReadNodeRoot(load) {
  const helpers = load('jsdom/lib/jsdom/living/helpers/node.js');
  const { domSymbolTree } = load('jsdom/lib/jsdom/living/helpers/internal-constants.js');
  if (typeof helpers.nodeRoot !== 'function') throw new Error('jsdom has no nodeRoot');
  helpers.nodeRoot = function nodeRoot(node) {
    for (let parent = domSymbolTree.parent(node); parent; parent = domSymbolTree.parent(parent)) node = parent;
    return node;
  };
}

/**
 * Pre-insertion validity. Before every append jsdom checks that the new child is not a host-including
 * inclusive ancestor of the parent, walking all the parent's ancestors and the hosts of its root. For
 * the appends the parser and Readability make most (a childless Text, Comment or element onto an
 * element, no reference child) that cannot be so: a node without children is an inclusive ancestor
 * of nothing but itself, and only a template (of its contents) or a shadow host is a host. The other
 * checks pass for such a pair by their own terms (an element parent; Text, Comment and Element may be
 * inserted there; the document-only rules do not apply). Every other insertion takes the full check.
 */
function skipImpossibleHierarchyCheck(load) {
  const { domSymbolTree } = load('jsdom/lib/jsdom/living/helpers/internal-constants.js');
  const NODE_TYPE = load('jsdom/lib/jsdom/living/node-type.js');
  const NodeImpl = load('jsdom/lib/jsdom/living/nodes/Node-impl.js').implementation;
  const check = NodeImpl.prototype._preInsertValidity;
  if (typeof check !== 'function') throw new Error("jsdom's Node has no _preInsertValidity");
  const cannotContain = (node) => {
    switch (node.nodeType) {
      case NODE_TYPE.TEXT_NODE:
      case NODE_TYPE.COMMENT_NODE:
        return true;
      case NODE_TYPE.ELEMENT_NODE:
        return node._localName !== 'template' && !node._shadowRoot && !domSymbolTree.firstChild(node);
      default:
        return false;
    }
  };
  NodeImpl.prototype._preInsertValidity = function preInsertValidity(nodeImpl, childImpl) {
    const parentIsElement = this.nodeType === NODE_TYPE.ELEMENT_NODE;
    if (childImpl === null && nodeImpl !== this && parentIsElement && cannotContain(nodeImpl)) return undefined;
    return check.call(this, nodeImpl, childImpl);
  };
}

/**
 * Tag-list selectors. Readability finds elements with querySelectorAll("a") or ("img,picture,figure,...")
 * (its _getAllNodesWithTag), which jsdom hands to nwsapi: a compiled matcher run over wrappers, or a
 * getElementsByTagName collection per tag. A selector that is only lowercase type selectors joined by
 * commas selects every descendant element whose local name is one of the names, in tree order, once
 * each; that is listed here directly, into the same static NodeList. It is the answer of nwsapi and of
 * the Selectors spec alike for elements as the HTML parser makes them (no prefix, HTML names in lower
 * case); where they could disagree (an HTML element named in upper case or any prefixed element, made
 * through createElementNS: nwsapi does not match <IMG> for "img,a" where the spec would), the call
 * goes to nwsapi, as does every other selector.
 */
function directTagListSelectors(load) {
  const { domSymbolTree } = load('jsdom/lib/jsdom/living/helpers/internal-constants.js');
  const NODE_TYPE = load('jsdom/lib/jsdom/living/node-type.js');
  const NodeList = load('jsdom/lib/jsdom/living/generated/NodeList.js');
  const { HTML_NS } = load('jsdom/lib/jsdom/living/helpers/namespaces.js');
  const TAG_LIST = /^[a-z][a-z0-9]*(?:,[a-z][a-z0-9]*)*$/;
  const prototypes = ['nodes/Element-impl.js', 'nodes/Document-impl.js', 'nodes/DocumentFragment-impl.js']
    .map((file) => load(`jsdom/lib/jsdom/living/${file}`).implementation.prototype);
  for (const prototype of prototypes) {
    const select = prototype.querySelectorAll;
    if (typeof select !== 'function') throw new Error("jsdom's ParentNode has no querySelectorAll");
    prototype.querySelectorAll = function querySelectorAll(selectors) {
      const document = this._ownerDocument;
      if (typeof selectors !== 'string' || !TAG_LIST.test(selectors) || document._parsingMode !== 'html'
          || (this === document && !this.documentElement)) {
        return select.call(this, selectors);
      }
      const names = new Set(selectors.split(','));
      let unusual = false;
      const nodes = domSymbolTree.treeToArray(this, {
        filter: (node) => {
          if (node === this || node.nodeType !== NODE_TYPE.ELEMENT_NODE) return false;
          if (node._prefix !== null || (node._namespaceURI === HTML_NS && /[A-Z]/.test(node._localName))) {
            unusual = true;
          }
          return names.has(node._localName);
        },
      });
      if (unusual) return select.call(this, selectors);
      return NodeList.create(this._globalObject, [], { nodes });
    };
  }
}

/** Apply every shortcut; `load` resolves a module path inside jsdom's node_modules. */
function install(load) {
  // Before jsdom loads: its modules copy these functions.
  skipMutationRecordsWithoutObservers(load);
  singleReadNodeRoot(load);
  const forgotten = singleWalkModified(load);
  // After: prototypes and the shared symbol tree are patched in place.
  load('jsdom');
  singleWalkModifiedAfterLoad(load, forgotten);
  leanTreeToArray(load);
  skipImpossibleHierarchyCheck(load);
  directTagListSelectors(load);
}

module.exports = { install };
