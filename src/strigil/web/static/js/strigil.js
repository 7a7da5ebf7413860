/* Strigil pages: small progressive enhancements. No inline script is allowed (CSP). */
(function () {
  "use strict";

  function csrfToken() {
    try {
      return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRF-Token"] || "";
    } catch (e) {
      return "";
    }
  }

  function flash(message) {
    var box = document.getElementById("flash");
    if (!box) return;
    box.textContent = "";
    var p = document.createElement("p");
    p.className = "error";
    p.setAttribute("role", "alert");
    p.textContent = message;
    box.appendChild(p);
  }

  /* ---------------------------------------------------------------- buttons */
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-action]");
    if (!button) return;
    var action = button.getAttribute("data-action");
    if (action === "print") {
      window.print();
    } else if (action === "all-no") {
      var form = button.closest("form");
      var names = {};
      form.querySelectorAll('input[type=radio][name^="ans_"]').forEach(function (r) {
        names[r.name] = names[r.name] || r.checked;
      });
      Object.keys(names).forEach(function (name) {
        if (!names[name]) {
          var no = form.querySelector('input[name="' + name + '"][value="no"]') ||
            form.querySelector('input[name="' + name + '"][value="unmeasured_no"]');
          if (no) no.checked = true;
        }
      });
    }
  });

  /* ---------------------------------------------------------------- confirm before signing */
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-confirm]");
    if (button && !window.confirm(button.getAttribute("data-confirm"))) {
      event.preventDefault();
      event.stopImmediatePropagation();
    }
  }, true);

  /* ---------------------------------------------------------------- body chart */
  document.addEventListener("click", function (event) {
    var svg = event.target.closest("svg.body-chart");
    if (!svg) return;
    var block = svg.closest(".chart-block");
    var form = block && block.querySelector(".finding-form");
    if (!form) return;
    var rect = svg.getBoundingClientRect();
    var x = Math.min(1, Math.max(0, (event.clientX - rect.left) / rect.width));
    var y = Math.min(1, Math.max(0, (event.clientY - rect.top) / rect.height));
    form.elements.chart_view.value = svg.getAttribute("data-view");
    form.elements.x.value = x.toFixed(4);
    form.elements.y.value = y.toFixed(4);
    form.elements.body_site.value = "";
    block.querySelectorAll("circle.pending").forEach(function (c) { c.classList.add("hidden"); });
    var marker = svg.querySelector("circle.pending");
    marker.setAttribute("cx", (x * 200).toFixed(1));
    marker.setAttribute("cy", (y * 400).toFixed(1));
    marker.classList.remove("hidden");
    var status = form.querySelector("[data-chart-status]");
    if (status) status.textContent = "Placed on the " + svg.getAttribute("data-view") + " chart. Choose texture and severity, then add it.";
  });

  /* ---------------------------------------------------------------- per-area timer */
  var timers = {}; /* area id -> {seconds, running, version, limit, sinceSave} */

  function timerState(el) {
    var id = el.getAttribute("data-area");
    if (!timers[id]) {
      timers[id] = { seconds: parseInt(el.getAttribute("data-seconds"), 10) || 0, running: false, sinceSave: 0 };
    }
    timers[id].version = el.getAttribute("data-version");
    timers[id].limit = parseInt(el.getAttribute("data-limit"), 10) || 0;
    timers[id].cap = parseInt(el.getAttribute("data-cap"), 10) || 0;
    return timers[id];
  }

  function render(el, state) {
    var m = Math.floor(state.seconds / 60), s = state.seconds % 60;
    el.querySelector("[data-timer-display]").textContent = m + ":" + (s < 10 ? "0" : "") + s;
    var toggle = el.querySelector("[data-timer-toggle]");
    toggle.textContent = state.running ? "Pause timer" : (state.seconds ? "Resume timer" : "Start timer");
    toggle.setAttribute("aria-pressed", state.running ? "true" : "false");
    var over = state.limit && state.seconds > state.limit;
    el.classList.toggle("over", !!over);
    el.querySelector("[data-timer-warning]").classList.toggle("hidden", !over);
  }

  function save(id) {
    var state = timers[id];
    var body = new URLSearchParams({ seconds: String(state.seconds), version: state.version || "", source: "timer" });
    state.sinceSave = 0;
    return fetch("/areas/" + id + "/dose", {
      method: "POST",
      headers: { "X-CSRF-Token": csrfToken(), "Content-Type": "application/x-www-form-urlencoded" },
      body: body,
      credentials: "same-origin"
    }).then(function (response) {
      return response.json().then(function (data) {
        if (!response.ok) { flash(data.detail || "The time could not be saved."); return; }
        state.version = String(data.version);
        document.querySelectorAll('[data-timer][data-area="' + id + '"]').forEach(function (el) {
          el.setAttribute("data-version", state.version);
        });
        /* The typed-time correction sends the version it read: keep it level with the timer. */
        document.querySelectorAll('input[data-area-version="' + id + '"]').forEach(function (i) {
          i.value = state.version;
        });
      });
    }).catch(function () { flash("The time could not be saved; check the connection."); });
  }

  document.addEventListener("click", function (event) {
    var toggle = event.target.closest("[data-timer-toggle]");
    if (!toggle) return;
    var el = toggle.closest("[data-timer]");
    var state = timerState(el);
    state.running = !state.running;
    render(el, state);
    if (!state.running) save(el.getAttribute("data-area"));
  });

  setInterval(function () {
    Object.keys(timers).forEach(function (id) {
      var state = timers[id];
      if (!state.running) return;
      var el = document.querySelector('[data-timer][data-area="' + id + '"]');
      if (!el) { state.running = false; return; }
      state.seconds += 1;
      state.sinceSave += 1;
      if (state.cap && state.seconds >= state.cap) {  // a precaution's cap: stop the clock there
        state.running = false;
        render(el, state);
        save(id);
        flash("The " + state.cap + " s cap for this patient is reached: stop this area.");
        return;
      }
      render(el, state);
      if (state.sinceSave >= 15) save(id);
    });
  }, 1000);

  function bindTimers(root) {
    (root || document).querySelectorAll("[data-timer]").forEach(function (el) { render(el, timerState(el)); });
  }

  document.addEventListener("DOMContentLoaded", function () { bindTimers(document); });

  /* Readings, stops and skin grades carry the running time, so nothing is lost when an area stops. */
  document.addEventListener("htmx:configRequest", function (event) {
    var card = event.detail.elt.closest && event.detail.elt.closest(".area");
    if (!card) return;
    var el = card.querySelector("[data-timer]");
    if (!el) return;
    var state = timerState(el);
    event.detail.parameters["elapsed_seconds"] = String(state.seconds);
    if (event.detail.path.indexOf("/dose") !== -1) {
      event.detail.parameters["seconds"] = String(state.seconds);
      event.detail.parameters["version"] = state.version;
    }
  });

  document.addEventListener("htmx:afterSwap", function (event) { bindTimers(event.detail.target.parentNode || document); });

  /* A note saved in place bumps the visit's version: the phase buttons must send the new one. */
  document.addEventListener("htmx:afterSwap", function () {
    var note = document.querySelector("input[data-note-version]");
    if (!note || !note.value) return;
    document.querySelectorAll("input[data-visit-version]").forEach(function (i) { i.value = note.value; });
  });

  document.addEventListener("htmx:responseError", function (event) {
    flash("Something went wrong (" + event.detail.xhr.status + "). Nothing was saved; please try again.");
  });
  document.addEventListener("htmx:sendError", function () {
    flash("The server could not be reached. Nothing was saved; check the connection.");
  });
})();
