// The budget grid: save a cell on change (htmx.ajax: the row comes back, the totals out of band),
// move with the keyboard like a spreadsheet, paste a tab-separated block at the focused cell in one
// request, collapse a cost center's rows. No inline script (strict CSP).
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

  // Collapse a cost center's rows.
  document.addEventListener("click", (event) => {
    const toggle = event.target.closest?.("#grid .group-head .toggle");
    if (!toggle) return;
    const open = toggle.getAttribute("aria-expanded") === "true";
    toggle.setAttribute("aria-expanded", String(!open));
    toggle.textContent = open ? "▸" : "▾";
    toggle.closest("tbody").querySelectorAll("tr.grid-row").forEach((r) => { r.hidden = open; });
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
