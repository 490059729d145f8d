// Klarvarsel staff pages: small enhancements only. Every page works without this file.
"use strict";
(function () {
  // A button marked data-once submits its form once: a double click sends one request.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.dataset.sent === "yes") { event.preventDefault(); return; }
    form.dataset.sent = "yes";
    window.setTimeout(function () {
      form.querySelectorAll("button[data-once]").forEach(function (b) { b.disabled = true; });
    }, 0);
  });

  document.querySelectorAll(".no-js-only").forEach(function (el) { el.hidden = true; });

  // A page that comes back with errors puts the focus on their summary (GOV.UK's pattern), so
  // a screen reader reads it and the next Tab goes to the first link to a field.
  var summary = document.querySelector(".error-summary");
  if (summary) {
    if (!summary.hasAttribute("tabindex")) { summary.setAttribute("tabindex", "-1"); }
    summary.focus();
  }

  // Area search: show the search box and hide the areas that do not match.
  document.querySelectorAll("input[data-filter]").forEach(function (input) {
    var list = document.getElementById(input.dataset.filter);
    input.closest(".area-search").hidden = false;
    input.addEventListener("input", function () {
      var words = input.value.toLowerCase().trim();
      list.querySelectorAll("[data-name]").forEach(function (item) {
        var checked = item.querySelector("input").checked;
        item.hidden = words !== "" && !checked && item.dataset.name.indexOf(words) === -1;
      });
    });
  });

  // Compose: ticking a language shows the box for its note at once (the Update button does it
  // without JavaScript); unticking hides an empty box, never one with text in it.
  document.querySelectorAll("input[name=languages]").forEach(function (box) {
    var note = document.querySelector("[data-note-for='" + box.value + "']");
    if (!note || box.value === "sv") { return; }
    box.addEventListener("change", function () {
      var text = note.querySelector("textarea");
      note.hidden = !box.checked && (!text || text.value.trim() === "");
    });
  });

  // Compose: re-check the form as it is typed (the server validates, renders and checks).
  var form = document.getElementById("compose-form");
  if (form && form.dataset.check) {
    var result = document.getElementById("check-result");
    var timer = null;
    var recheck = function () {
      var body = new URLSearchParams(new FormData(form));
      fetch(form.dataset.check, {
        method: "POST",
        body: body,
        credentials: "same-origin",
        headers: { "X-CSRF-Token": body.get("csrf_token") || "" }
      }).then(function (response) {
        return response.ok ? response.text() : "";
      }).then(function (html) {
        if (html) { result.innerHTML = html; }
      }).catch(function () {});
    };
    form.addEventListener("input", function () {
      window.clearTimeout(timer);
      timer = window.setTimeout(recheck, 800);
    });
  }

  // Notice page: follow the live progress stream, reloading the progress part as it changes.
  var progress = document.getElementById("progress");
  if (progress && progress.dataset.done === "false" && window.EventSource) {
    var source = new EventSource(progress.dataset.stream);
    var pending = false;
    var refresh = function () {
      if (pending) { return; }
      pending = true;
      fetch(progress.dataset.fragment, { credentials: "same-origin" })
        .then(function (response) { return response.ok ? response.text() : ""; })
        .then(function (html) {
          pending = false;
          if (!html) { return; }
          var box = document.createElement("div");
          box.innerHTML = html;
          var fresh = box.querySelector("#progress");
          if (fresh) {
            fresh.querySelectorAll(".no-js-only").forEach(function (el) { el.hidden = true; });
            progress.replaceWith(fresh);
            progress = fresh;
          }
        })
        .catch(function () { pending = false; });
    };
    source.addEventListener("progress", refresh);
    source.addEventListener("done", function () {
      source.close();
      window.setTimeout(refresh, 300);
    });
  }
})();
