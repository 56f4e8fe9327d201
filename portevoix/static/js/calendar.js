// The calendar: drag a post to another day. The keyboard alternative is each post's
// "Move" form; both end in the same server action, which checks and may refuse.
(function () {
  "use strict";
  function csrf() {
    try { return JSON.parse(document.body.getAttribute("hx-headers"))["X-CSRFToken"]; }
    catch (e) { return ""; }
  }
  function say(text, bad) {
    var status = document.getElementById("move-status");
    if (!status) { return; }
    status.textContent = text;
    status.classList.toggle("error", !!bad);
  }
  document.addEventListener("DOMContentLoaded", function () {
    var dragged = null;
    document.querySelectorAll(".plan-item[draggable=true]").forEach(function (item) {
      item.addEventListener("dragstart", function (event) {
        dragged = item;
        item.classList.add("dragging");
        event.dataTransfer.effectAllowed = "move";
        event.dataTransfer.setData("text/plain", item.dataset.post);
      });
      item.addEventListener("dragend", function () {
        item.classList.remove("dragging");
        document.querySelectorAll(".drop-target").forEach(function (d) { d.classList.remove("drop-target"); });
      });
    });
    document.querySelectorAll("[data-day]").forEach(function (day) {
      day.addEventListener("dragover", function (event) {
        if (!dragged) { return; }
        event.preventDefault();
        day.classList.add("drop-target");
      });
      day.addEventListener("dragleave", function () { day.classList.remove("drop-target"); });
      day.addEventListener("drop", function (event) {
        event.preventDefault();
        day.classList.remove("drop-target");
        if (!dragged) { return; }
        var item = dragged;
        dragged = null;
        var body = new FormData();
        body.append("day", day.dataset.day);
        fetch(item.dataset.moveUrl, {
          method: "POST",
          body: body,
          headers: { "X-CSRFToken": csrf(), "Accept": "application/json" },
          credentials: "same-origin"
        }).then(function (response) {
          return response.json().then(function (data) { return { ok: response.ok, data: data }; });
        }).then(function (result) {
          if (result.ok) {
            window.location.reload();
          } else {
            say(result.data.error, true);
          }
        }).catch(function () {
          var status = document.getElementById("move-status");
          say(status ? status.dataset.failed : "", true);
        });
      });
    });
  });
})();
