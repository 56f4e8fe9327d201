// Forms' small helpers.
//
// A button that acts at once on something hard to undo (deactivate a member, disconnect a
// channel, pause every post, end a drill) carries data-confirm="the question": submitting
// through it asks first, and nothing is sent unless the person says yes. Without JavaScript
// the form submits as before (the server's own checks still apply).
(function () {
  "use strict";

  document.addEventListener(
    "submit",
    function (event) {
      var button = event.submitter;
      var question = button && button.getAttribute("data-confirm");
      if (question && !window.confirm(question)) event.preventDefault();
    },
    true
  );

  // A header checkbox data-select-all="name" ticks or unticks every enabled checkbox of that
  // name in its form (the crisis conversations not answered yet, say).
  document.addEventListener("change", function (event) {
    var all = event.target;
    var name = all && all.getAttribute && all.getAttribute("data-select-all");
    if (!name || !all.form) return;
    Array.prototype.forEach.call(all.form.querySelectorAll('input[type="checkbox"]'), function (box) {
      if (box.name === name && !box.disabled) box.checked = all.checked;
    });
  });
})();
