// Uploads to the media library: drop files on a zone (or choose them), one request per file
// with its progress; without JavaScript the form posts as usual.
(function () {
  "use strict";
  function csrf() {
    try { return JSON.parse(document.body.getAttribute("hx-headers"))["X-CSRFToken"]; }
    catch (e) { return ""; }
  }
  function send(zone, file, done) {
    var progress = zone.querySelector(".upload-progress");
    var status = zone.querySelector(".upload-status");
    var body = new FormData();
    body.append("file", file);
    var tags = zone.querySelector("input[name=tags]");
    if (tags) { body.append("tags", tags.value); }
    var xhr = new XMLHttpRequest();
    xhr.open("POST", zone.dataset.uploadUrl);
    xhr.setRequestHeader("X-CSRFToken", csrf());
    xhr.setRequestHeader("Accept", "application/json");
    progress.hidden = false;
    progress.value = 0;
    xhr.upload.addEventListener("progress", function (event) {
      if (event.lengthComputable) { progress.value = Math.round(100 * event.loaded / event.total); }
    });
    xhr.addEventListener("load", function () {
      var data = {};
      try { data = JSON.parse(xhr.responseText); } catch (e) { data = { errors: [xhr.statusText] }; }
      (data.errors || []).forEach(function (message) { status.textContent = message; status.classList.add("error"); });
      (data.items || []).forEach(function (item) {
        status.textContent = file.name + " ✓";
        status.classList.remove("error");
        var into = zone.dataset.into && document.querySelector(zone.dataset.into);
        if (into) {
          var li = document.createElement("li");
          li.className = "media-card";
          var box = document.createElement("input");
          box.type = "checkbox"; box.name = "media"; box.value = item.id; box.id = "m-" + item.id; box.checked = true;
          var label = document.createElement("label");
          label.htmlFor = box.id;
          if (item.image) { var img = document.createElement("img"); img.src = item.url; img.alt = ""; img.width = 96; img.height = 96; label.appendChild(img); }
          var name = document.createElement("span"); name.className = "media-name"; name.textContent = item.name; label.appendChild(name);
          li.appendChild(box); li.appendChild(label);
          var empty = into.querySelector(".empty");
          if (empty) { empty.remove(); }
          into.insertBefore(li, into.firstChild);
          box.dispatchEvent(new Event("change", { bubbles: true }));
        }
      });
      done();
    });
    xhr.addEventListener("error", function () { status.textContent = file.name + " ✗"; status.classList.add("error"); done(); });
    xhr.send(body);
  }
  function sendAll(zone, files) {
    var queue = Array.prototype.slice.call(files);
    var next = function () {
      if (!queue.length) { if (zone.dataset.reload) { window.location.reload(); } return; }
      send(zone, queue.shift(), next);
    };
    next();
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-upload-url]").forEach(function (zone) {
      var input = zone.querySelector("input[type=file]");
      if (zone.tagName === "FORM") {
        zone.addEventListener("submit", function (event) {
          if (!input.files.length) { return; }
          event.preventDefault();
          sendAll(zone, input.files);
        });
      } else if (input) {
        input.addEventListener("change", function () { sendAll(zone, input.files); input.value = ""; });
      }
      zone.addEventListener("dragover", function (event) { event.preventDefault(); zone.classList.add("dragover"); });
      zone.addEventListener("dragleave", function () { zone.classList.remove("dragover"); });
      zone.addEventListener("drop", function (event) {
        event.preventDefault();
        zone.classList.remove("dragover");
        if (event.dataTransfer.files.length) { sendAll(zone, event.dataTransfer.files); }
      });
    });
  });
})();
