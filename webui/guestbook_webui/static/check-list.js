// A list of verification checks, each shown as passed, failed or not checked, with a
// sentence saying what was found (the verify and ledger pages).
"use strict";

const CheckList = (() => {
  // Append a check to the list element `list`; returns false only when it failed.
  // `ok`: true (passed), false (failed), null (not checked).
  function add(list, label, ok, detail) {
    const li = document.createElement("li");
    li.dataset.result = ok === true ? "pass" : ok === false ? "fail" : "skip";
    const mark = document.createElement("span");
    mark.className = "mark";
    mark.setAttribute("aria-hidden", "true");
    mark.textContent = ok === true ? "✓" : ok === false ? "✗" : "–";
    const text = document.createElement("span");
    text.textContent = `${label}${ok === true ? " — passed" : ok === false ? " — FAILED" : " — not checked"}`;
    li.append(mark, text);
    if (detail) {
      const small = document.createElement("small");
      small.textContent = detail;
      li.append(small);
    }
    list.append(li);
    return ok !== false;
  }

  return { add };
})();
