// Ledger pages: keyboard shortcuts and focus handling (no inline script: strict CSP).
(() => {
  const typing = (el) => el && (el.isContentEditable || ["INPUT", "SELECT", "TEXTAREA"].includes(el.tagName));

  // "/" focuses the first search box; elements with data-hotkey="x" are clicked on "x".
  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey || typing(document.activeElement)) return;
    if (event.key === "/") {
      const search = document.querySelector('input[type="search"]');
      if (search) { event.preventDefault(); search.focus(); search.select(); }
      return;
    }
    const target = document.querySelector(`[data-hotkey="${CSS.escape(event.key)}"]`);
    if (target) { event.preventDefault(); target.click(); }
  });

  // Entry form: a new line gets the focus on its account; Alt+Enter adds a line from anywhere.
  document.addEventListener("htmx:afterSwap", (event) => {
    if (event.detail.target && event.detail.target.id === "entry-lines") {
      const rows = event.detail.target.querySelectorAll("tr.line-row");
      rows[rows.length - 1]?.querySelector("select")?.focus();
    }
  });
  document.addEventListener("keydown", (event) => {
    if (event.altKey && event.key === "Enter") {
      const add = document.querySelector('.entry-form button[name="more"]');
      if (add) { event.preventDefault(); add.click(); }
    }
  });

  // Forms that post something hard to undo ask first (a reversal, closing a period).
  document.addEventListener("submit", (event) => {
    const message = event.target.dataset?.confirm;
    if (message && !window.confirm(message)) event.preventDefault();
  });

  // Typing a debit clears nothing, but an amount typed into both columns is flagged at once.
  document.addEventListener("input", (event) => {
    const input = event.target;
    if (!input.classList?.contains("amount")) return;
    const row = input.closest("tr");
    const both = [...row.querySelectorAll("input.amount")].filter((i) => i.value.trim() !== "").length > 1;
    row.classList.toggle("both-sides", both);
  });
})();
