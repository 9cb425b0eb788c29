// An entry's audit path as an SVG picture of the tree (decision 0117): the leaf, the
// sibling hash at each level (the inclusion proof) and the path up to the root. The
// shape comes from RFC 9162 §2.1.1's split at the largest power of two, computed here
// independently of the proof folding in ledger-format.js; the hashes on the path are
// recomputed in the browser, so the picture shows what was checked.
"use strict";

const AuditPath = (() => {
  const SVG = "http://www.w3.org/2000/svg";

  function largestPowerOfTwoBelow(n) {
    let k = 1;
    while (k * 2 < n) k *= 2;
    return k;
  }

  // The levels of the path from the root down to leaf `index` of a tree of `size`:
  // [{node: {lo, hi}, sibling: {lo, hi} | null, side: "left" | "right"}], root first,
  // the leaf last (its sibling null). A node covers the leaves lo..hi-1. Requires
  // 0 <= index < size; throws otherwise.
  function levels(index, size) {
    if (!(Number.isSafeInteger(index) && Number.isSafeInteger(size) && index >= 0 && index < size)) {
      throw new Error(`leaf index ${index} is not inside a tree of ${size} leaves`);
    }
    const out = [];
    let lo = 0, hi = size;
    while (hi - lo > 1) {
      const mid = lo + largestPowerOfTwoBelow(hi - lo);
      const left = index < mid;
      out.push({ node: { lo, hi }, sibling: left ? { lo: mid, hi } : { lo, hi: mid }, side: left ? "right" : "left" });
      if (left) hi = mid; else lo = mid;
    }
    out.push({ node: { lo, hi }, sibling: null, side: null });
    return out;
  }

  // The hashes of the path nodes, leaf first, from the leaf hash and the proof (leaf
  // first, as RFC 9162 orders it); throws when the proof does not fit the shape.
  async function pathHashes(index, size, leaf, proof, nodeHash) {
    const shape = levels(index, size);
    if (proof.length !== shape.length - 1) {
      throw new Error(`a leaf at index ${index} of ${size} needs ${shape.length - 1} sibling hashes; the proof has ${proof.length}`);
    }
    const hashes = [leaf];
    for (let i = 0; i < proof.length; i++) {
      const level = shape[shape.length - 2 - i];
      const below = hashes[hashes.length - 1];
      hashes.push(level.side === "right" ? await nodeHash(below, proof[i]) : await nodeHash(proof[i], below));
    }
    return hashes;
  }

  const range = ({ lo, hi }) => hi - lo === 1 ? `leaf ${lo}` : `leaves ${lo}–${hi - 1}`;

  function el(name, attributes, text) {
    const node = document.createElementNS(SVG, name);
    for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, String(value));
    if (text !== undefined) node.textContent = text;
    return node;
  }

  // The SVG picture of the audit path of leaf `index` in a tree of `size`, with the
  // path hashes (hex, leaf first) and the proof (hex, leaf first). Accessible: a
  // <title> and a <desc> spelling out the path; scales to the width it is given.
  function draw(index, size, pathHex, proofHex, { id = "audit-path" } = {}) {
    const shape = levels(index, size);
    const rows = shape.length, rowHeight = 64, width = 340, boxW = 150, boxH = 40;
    const svg = el("svg", {
      viewBox: `0 0 ${width} ${rows * rowHeight + 8}`, role: "img", class: "audit-path",
      "aria-labelledby": `${id}-title ${id}-desc`, "data-leaf-index": index, "data-tree-size": size,
    });
    svg.append(el("title", { id: `${id}-title` },
      `Audit path of leaf ${index} in the tree of ${size} ${size === 1 ? "leaf" : "leaves"}`));
    const words = [];
    const column = { center: width / 2 - boxW / 2, left: 4, right: width - boxW - 4 };
    const shortHex = (h) => `${h.slice(0, 8)}…${h.slice(-4)}`;
    const nodes = el("g", { class: "nodes" }), edges = el("g", { class: "edges" });
    shape.forEach((level, row) => {
      const y = 4 + row * rowHeight;
      const hash = pathHex[rows - 1 - row];
      const kind = row === 0 ? "root" : row === rows - 1 ? "leaf" : "path";
      // Below the root each row holds a path node and its sibling, on the sides they take.
      const parent = row === 0 ? null : shape[row - 1];
      const x = parent === null ? column.center : parent.side === "right" ? column.left : column.right;
      level.x = x;
      if (parent !== null) {
        edges.append(el("line", { x1: parent.x + boxW / 2, y1: y - rowHeight + boxH, x2: x + boxW / 2, y2: y, class: "edge path" }));
      }
      const g = el("g", { class: `node ${kind}`, "data-node": kind });
      g.append(el("title", {}, `${kind === "root" ? "Root" : kind === "leaf" ? "Leaf" : "Path node"}, ${range(level.node)}: ${hash}`));
      g.append(el("rect", { x, y, width: boxW, height: boxH, rx: 6 }));
      g.append(el("text", { x: x + 8, y: y + 16, class: "label" }, kind === "root" ? `root · ${range(level.node)}` : range(level.node)));
      g.append(el("text", { x: x + 8, y: y + 32, class: "hash" }, shortHex(hash)));
      nodes.append(g);
      words.push(`${kind === "root" ? "the root" : kind === "leaf" ? "the leaf" : "the node"} over ${range(level.node)} is ${hash}`);
      if (level.sibling) {
        const sy = y + rowHeight, sibling = proofHex[rows - 2 - row];
        const sx = level.side === "right" ? column.right : column.left;
        edges.append(el("line", { x1: x + boxW / 2, y1: y + boxH, x2: sx + boxW / 2, y2: sy, class: "edge sibling" }));
        const s = el("g", { class: "node sibling", "data-node": "sibling" });
        s.append(el("title", {}, `Sibling from the proof, ${range(level.sibling)}: ${sibling}`));
        s.append(el("rect", { x: sx, y: sy, width: boxW, height: boxH, rx: 6 }));
        s.append(el("text", { x: sx + 8, y: sy + 16, class: "label" }, `proof · ${range(level.sibling)}`));
        s.append(el("text", { x: sx + 8, y: sy + 32, class: "hash" }, shortHex(sibling)));
        nodes.append(s);
        words.push(`hashed with the proof's sibling over ${range(level.sibling)} on the ${level.side}, ${sibling}`);
      }
    });
    svg.append(el("desc", { id: `${id}-desc` }, `From the root down: ${words.join("; ")}.`));
    svg.append(edges, nodes);
    return svg;
  }

  return { levels, pathHashes, draw };
})();
