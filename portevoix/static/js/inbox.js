// Inbox: keyboard shortcuts and inserting canned replies and offers into the answer.
(function () {
  "use strict";

  function answerBox() { return document.getElementById("id_text"); }

  function insert(text, replace) {
    var box = answerBox();
    if (!box || !text) return;
    if (replace || !box.value.trim()) {
      box.value = text;
    } else {
      var start = box.selectionStart || box.value.length;
      var end = box.selectionEnd || box.value.length;
      var before = box.value.slice(0, start);
      var glue = before && !/\s$/.test(before) ? " " : "";
      box.value = before + glue + text + box.value.slice(end);
    }
    box.focus();
    box.dispatchEvent(new Event("input", { bubbles: true }));
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-insert], [data-insert-replace]");
    if (!button) return;
    event.preventDefault();
    if (button.hasAttribute("data-insert-replace")) {
      insert(button.getAttribute("data-insert-replace"), true);
      var where = button.getAttribute("data-where");
      var radio = where !== null && document.querySelector('input[name="private"][value="' + where + '"]');
      if (radio) radio.checked = true;
    } else {
      insert(button.getAttribute("data-insert"), false);
    }
  });

  document.addEventListener("change", function (event) {
    var select = event.target.closest("select[data-insert-select]");
    if (!select) return;
    var option = select.selectedOptions[0];
    if (option && option.dataset.text) insert(option.dataset.text, false);
    select.value = "";
  });

  function typing(target) {
    return target.closest && target.closest("input, textarea, select, [contenteditable]");
  }

  function move(step) {
    var links = Array.prototype.slice.call(document.querySelectorAll(".conv-link"));
    if (!links.length) return;
    var at = links.indexOf(document.activeElement);
    if (at < 0) at = links.findIndex(function (a) { return a.getAttribute("aria-current") === "true"; });
    var next = at < 0 ? 0 : Math.min(links.length - 1, Math.max(0, at + step));
    links[next].focus();
    links[next].scrollIntoView({ block: "nearest" });
  }

  function click(selector) {
    var element = document.querySelector(selector);
    if (element) element.click();
  }

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) return;
    var dialog = document.getElementById("shortcuts");
    switch (event.key) {
      case "j": move(1); break;
      case "k": move(-1); break;
      case "r": if (answerBox()) { answerBox().focus(); } else { return; } break;
      case "n": var note = document.getElementById("id_note"); if (note) { note.focus(); } else { return; } break;
      case "a": click('[data-shortcut="assign-me"]'); break;
      case "e": click('[data-shortcut="resolve"]'); break;
      case "/": var search = document.querySelector("[data-shortcut-search]"); if (search) { search.focus(); } else { return; } break;
      case "?": if (dialog && dialog.showModal && !dialog.open) { dialog.showModal(); } break;
      default: return;
    }
    event.preventDefault();
  });

  document.addEventListener("click", function (event) {
    if (!event.target.closest("[data-shortcuts-open]")) return;
    var dialog = document.getElementById("shortcuts");
    if (dialog && dialog.showModal) dialog.showModal();
  });
})();
