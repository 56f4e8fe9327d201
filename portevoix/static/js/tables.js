// On a phone the tables' rows stack, cell under cell, and their headers are hidden
// (portevoix.css, "narrow screens"): each cell then shows its column's name above its value,
// from the table's own header row, so "7 900" reads "Abonnés 7 900". Tables already labelled
// in their template (class "labelled") and grids that keep their layout (class "matrix") are
// left as they are. Run on load and on every part htmx brings in.
(function () {
  "use strict";

  function labelTable(table) {
    var head = table.tHead && table.tHead.rows[0];
    if (!head) return;
    var names = [];
    Array.prototype.forEach.call(head.cells, function (cell) {
      var name = cell.textContent.replace(/\s+/g, " ").trim();
      for (var i = 0; i < (cell.colSpan || 1); i += 1) names.push(name);
    });
    Array.prototype.forEach.call(table.tBodies, function (body) {
      Array.prototype.forEach.call(body.rows, function (row) {
        var column = 0;
        Array.prototype.forEach.call(row.cells, function (cell) {
          var name = names[column];
          if (cell.tagName === "TD" && name && !cell.hasAttribute("data-label")) {
            cell.setAttribute("data-label", name);
          }
          column += cell.colSpan || 1;
        });
      });
    });
    table.classList.add("labelled");
  }

  function labelAll(root) {
    var selector = "table.table:not(.labelled):not(.matrix)";
    if (root.matches && root.matches(selector)) labelTable(root);
    if (root.querySelectorAll) root.querySelectorAll(selector).forEach(labelTable);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { labelAll(document); });
  } else {
    labelAll(document);
  }
  document.addEventListener("htmx:load", function (event) { labelAll(event.target); });
})();
