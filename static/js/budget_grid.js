// The budget grid: save a cell on change (htmx.ajax: the row comes back, the column totals and the
// subtotal rows of its cost centers out of band), move with the keyboard like a spreadsheet (over
// the visible rows only), paste a tab-separated block at the focused cell in one request, and
// collapse / expand cost-center subtrees, remembered per version in localStorage. No inline script
// (strict CSP).
(() => {
  const grid = () => document.getElementById("grid");
  const queues = new Map(); // row id → the promise of its last save: one row saves in order

  const rowsOf = () => Array.from(grid()?.querySelectorAll("tr.grid-row") || []);

  function cellAt(row, month) {
    return row?.querySelector(`input[data-month="${month}"]`);
  }

  function move(input, dRow, dMonth) {
    const row = input.closest("tr");
    const month = Number(input.dataset.month) + dMonth;
    let target = null;
    if (dRow === 0) {
      target = cellAt(row, month);
    } else {
      const visible = rowsOf().filter((r) => !r.hidden);
      const next = visible[visible.indexOf(row) + dRow];
      target = cellAt(next, month);
    }
    if (target) { target.focus(); target.select(); }
  }

  function save(input) {
    const row = input.closest("tr.grid-row");
    const rowId = row.id;
    const values = {
      account: row.dataset.account, cost_center: row.dataset.costCenter || "",
      month: input.dataset.month, amount: input.value,
      // The subtotal rows this page shows: the server sends fresh ones for these only (a row just
      // added in a cost center the grid had no line for has no header to update yet).
      groups: Array.from(grid().querySelectorAll("tr.group-head")).map((h) => h.id.slice(4)).join(","),
    };
    const previous = queues.get(rowId) || Promise.resolve();
    const next = previous.then(() => htmx.ajax("POST", grid().dataset.cellUrl,
      { target: "#" + rowId, swap: "outerHTML", values, source: document.body }));
    queues.set(rowId, next.catch(() => {}));
  }

  // A refusal (422) carries the row with the error in the cell, or the problems above the grid: show it.
  document.addEventListener("htmx:beforeSwap", (event) => {
    if (event.detail.xhr.status === 422) { event.detail.shouldSwap = true; event.detail.isError = false; }
    // Keep what is typed (not yet saved) in the other cells of a row that is being replaced.
    const target = event.detail.target;
    if (target?.classList?.contains("grid-row")) {
      const typed = {};
      target.querySelectorAll("input[data-month]").forEach((i) => {
        if (i.value !== i.dataset.saved && i === document.activeElement) typed[i.id] = i.value;
      });
      window.__gridTyped = typed;
    }
  });
  document.addEventListener("htmx:afterSwap", () => {
    const typed = window.__gridTyped || {};
    Object.entries(typed).forEach(([id, value]) => {
      const input = document.getElementById(id);
      if (input && input.value !== value) input.value = value;
    });
    window.__gridTyped = null;
  });

  document.addEventListener("change", (event) => {
    const input = event.target;
    if (input.matches?.("#grid input[data-month]")) save(input);
  });

  document.addEventListener("focusin", (event) => {
    const input = event.target;
    if (!input.matches?.("#grid input[data-month]")) return;
    input.select();
    const picker = document.getElementById("spread-row");
    const value = input.closest("tr").dataset.picker;
    if (picker && Array.from(picker.options).some((o) => o.value === value)) picker.value = value;
  });

  document.addEventListener("keydown", (event) => {
    const input = event.target;
    if (!input.matches?.("#grid input[data-month]")) return;
    const atStart = input.selectionStart === 0 && input.selectionEnd === 0;
    const atEnd = input.selectionStart === input.value.length;
    const all = input.selectionStart === 0 && input.selectionEnd === input.value.length;
    switch (event.key) {
      case "ArrowUp": event.preventDefault(); move(input, -1, 0); break;
      case "ArrowDown": event.preventDefault(); move(input, 1, 0); break;
      case "Enter": event.preventDefault(); move(input, event.shiftKey ? -1 : 1, 0); break;
      case "ArrowLeft": if (atStart || all) { event.preventDefault(); move(input, 0, -1); } break;
      case "ArrowRight": if (atEnd || all) { event.preventDefault(); move(input, 0, 1); } break;
      case "Escape": input.value = input.dataset.saved; input.select(); break;
      default: break;
    }
  });

  function showProblems(problems) {
    const box = document.getElementById("grid-messages");
    box.innerHTML = "";
    const ul = document.createElement("ul");
    ul.className = "messages";
    problems.forEach((p) => {
      const li = document.createElement("li");
      li.className = "msg msg-error";
      li.textContent = p;
      ul.append(li);
    });
    box.append(ul);
  }

  // Paste: a rectangular block (rows by newline, cells by tab) from the focused cell down and right.
  document.addEventListener("paste", (event) => {
    const input = event.target;
    if (!input.matches?.("#grid input[data-month]")) return;
    const text = (event.clipboardData || window.clipboardData).getData("text");
    if (!text.includes("\t") && !text.includes("\n")) return; // one value: an ordinary paste
    event.preventDefault();
    const lines = text.replace(/\r\n?/g, "\n").replace(/\n$/, "").split("\n").map((l) => l.split("\t"));
    const visible = rowsOf().filter((r) => !r.hidden);
    const start = visible.indexOf(input.closest("tr"));
    const month = Number(input.dataset.month);
    if (start + lines.length > visible.length) {
      showProblems([`The block has ${lines.length} rows but only ${visible.length - start} rows from this one down: add rows first. Nothing was pasted.`]);
      return;
    }
    const cells = [];
    lines.forEach((values, r) => {
      const row = visible[start + r];
      values.forEach((value, c) => cells.push([row.dataset.account, row.dataset.costCenter || null, month + c, value.trim()]));
    });
    document.getElementById("grid-messages").innerHTML = "";
    htmx.ajax("POST", grid().dataset.pasteUrl,
      { target: "#grid", swap: "outerHTML", values: { cells: JSON.stringify(cells) }, source: document.body });
  });

  // Collapse / expand cost-center subtrees. A group's tbody carries its key (`data-cc`, 0 for no
  // cost center) and its ancestors' keys; the collapsed keys are kept per version in localStorage.
  const storeKey = () => grid()?.dataset.collapseKey;

  function collapsedSet() {
    try { return new Set(JSON.parse(localStorage.getItem(storeKey()) || "[]").map(String)); } catch { return new Set(); }
  }

  function storeCollapsed(set) {
    try { localStorage.setItem(storeKey(), JSON.stringify([...set])); } catch { /* private mode: state not kept */ }
  }

  const groupsOf = () => Array.from(grid()?.querySelectorAll("tbody.cc-group[data-cc]") || []);

  function applyFold() {
    if (!grid()) return;
    const collapsed = collapsedSet();
    groupsOf().forEach((body) => {
      const ancestors = (body.dataset.ancestors || "").split(" ").filter(Boolean);
      const hiddenByAncestor = ancestors.some((a) => collapsed.has(a));
      const open = !collapsed.has(body.dataset.cc);
      const head = body.querySelector("tr.group-head");
      if (head) {
        head.hidden = hiddenByAncestor;
        const toggle = head.querySelector(".toggle");
        toggle.setAttribute("aria-expanded", String(open));
        toggle.firstElementChild.textContent = open ? "▾" : "▸";
        head.classList.toggle("collapsed", !open);
      }
      body.querySelectorAll("tr.grid-row").forEach((r) => { r.hidden = hiddenByAncestor || !open; });
    });
  }

  function fold(cc, open) {
    const collapsed = collapsedSet();
    if (open) collapsed.delete(cc); else collapsed.add(cc);
    storeCollapsed(collapsed);
    applyFold();
  }

  // A link to a row (#row-…, from budget vs actual) opens the groups that hold it, then brings it
  // into view (below the sticky header: its scroll-margin-top) — a collapsed row has no place to scroll to.
  function revealTarget() {
    const id = decodeURIComponent(location.hash.slice(1));
    const row = id.startsWith("row-") ? document.getElementById(id) : null;
    if (!row || !grid()?.contains(row)) return;
    const body = row.closest("tbody.cc-group[data-cc]");
    if (body && row.hidden) {
      const collapsed = collapsedSet();
      [body.dataset.cc, ...(body.dataset.ancestors || "").split(" ").filter(Boolean)].forEach((cc) => collapsed.delete(cc));
      storeCollapsed(collapsed);
      applyFold();
    }
    row.scrollIntoView({ block: "start" });
  }

  applyFold();
  revealTarget();
  window.addEventListener("hashchange", revealTarget);
  document.addEventListener("htmx:afterSwap", applyFold);
  document.addEventListener("htmx:oobAfterSwap", applyFold);

  document.addEventListener("click", (event) => {
    // The whole label cell of a header toggles its subtree, not only the arrow.
    const label = event.target.closest?.("#grid .group-head th");
    if (label) {
      const toggle = label.querySelector(".toggle");
      fold(label.closest("tbody").dataset.cc, toggle.getAttribute("aria-expanded") !== "true");
      if (event.target !== toggle && !toggle.contains(event.target)) toggle.focus();
      return;
    }
    const all = event.target.closest?.("#grid [data-grid-fold]");
    if (all) {
      storeCollapsed(all.dataset.gridFold === "collapse" ? new Set(groupsOf().map((b) => b.dataset.cc)) : new Set());
      applyFold();
    }
  });

  // On a header's toggle: ← collapses (or, when collapsed, goes to the parent's header), → expands,
  // ↑ / ↓ move to the line above / below (a header's toggle or a row's first cell). Enter and Space
  // press the button.
  function lineFocus(line, month) {
    const target = line.classList.contains("group-head") ? line.querySelector(".toggle") : cellAt(line, month);
    if (target) { target.focus(); target.select?.(); }
    return Boolean(target);
  }

  document.addEventListener("keydown", (event) => {
    const toggle = event.target.closest?.("#grid .group-head .toggle");
    if (!toggle) return;
    const body = toggle.closest("tbody");
    const open = toggle.getAttribute("aria-expanded") === "true";
    if (event.key === "ArrowLeft") {
      event.preventDefault();
      const parent = (body.dataset.ancestors || "").split(" ").filter(Boolean).pop();
      if (open) fold(body.dataset.cc, false);
      else if (parent) document.querySelector(`#sub-${parent} .toggle`)?.focus();
    } else if (event.key === "ArrowRight") {
      event.preventDefault();
      if (!open) fold(body.dataset.cc, true);
    } else if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      const lines = Array.from(grid().querySelectorAll("tr.group-head, tr.grid-row")).filter((l) => !l.hidden);
      const step = event.key === "ArrowDown" ? 1 : -1;
      for (let i = lines.indexOf(toggle.closest("tr")) + step; i >= 0 && i < lines.length; i += step) {
        if (lineFocus(lines[i], 1)) break;
      }
    }
  });

  // An added row that the grid shows already: focus it instead of adding it twice.
  document.addEventListener("htmx:beforeRequest", (event) => {
    const form = event.detail.elt;
    if (!form.matches?.("form.add-row")) return;
    const account = form.querySelector("[name=account]").value;
    const cc = form.querySelector("[name=cost_center]").value || "0";
    const existing = document.getElementById(`row-${account}-${cc}`);
    if (existing) { event.preventDefault(); cellAt(existing, 1)?.focus(); }
  });
})();
