/* Simple mode: a questionnaire one question per screen, with Back and Next, and a button
 * that reads the question and its answers aloud (where the browser can speak).
 *
 * It is still one form: every answer stays in it and is sent once, with the same fields as
 * the full page, so scoring and the safety answers on the server are the same. Without
 * this script every question shows on one page. */
(function () {
  "use strict";

  function speechSupported() {
    return !!(window.speechSynthesis && typeof window.SpeechSynthesisUtterance === "function");
  }

  function setup(form) {
    var items = Array.prototype.slice.call(form.querySelectorAll("[data-q-item]"));
    var nav = form.querySelector("[data-steps-nav]");
    var submit = form.querySelector("[data-q-submit]");
    var choose = form.querySelector("[data-q-choose]");
    var reader = form.querySelector("[data-read-aloud]");
    var instructions = form.querySelector("[data-q-instructions]");
    if (items.length < 2 || !nav || !submit) { return; }
    var back = nav.querySelector("[data-back]");
    var next = nav.querySelector("[data-next]");
    var last = items.length - 1;
    var current = 0;

    function answered(item) {
      return !!item.querySelector("input[type=radio]:checked");
    }
    function required(item) {
      return !!item.querySelector("input[required]");
    }
    function clearChoose() {
      if (choose) {
        choose.hidden = true;
        choose.textContent = "";
      }
    }

    function show(index, moveFocus) {
      stopReading();
      clearChoose();
      current = Math.max(0, Math.min(last, index));
      items.forEach(function (item, i) { item.hidden = i !== current; });
      back.hidden = current === 0;
      next.hidden = current === last;
      submit.hidden = current !== last;
      if (moveFocus) {
        // The instructions, the question, its answers and Back/Next fill the screen
        // together; focus goes to the question for screen readers.
        (instructions || form).scrollIntoView({ block: "start" });
        var legend = items[current].querySelector("legend");
        legend.setAttribute("tabindex", "-1");
        legend.focus({ preventScroll: true });
      }
    }

    function goNext() {
      var item = items[current];
      if (required(item) && !answered(item)) {
        if (choose) {
          choose.hidden = false;
          choose.textContent = choose.getAttribute("data-label");
        }
        var first = item.querySelector("input[type=radio]");
        if (first) { first.focus(); }
        return;
      }
      show(current + 1, true);
    }

    back.addEventListener("click", function () { show(current - 1, true); });
    next.addEventListener("click", goNext);
    form.addEventListener("change", function () { clearChoose(); });
    // Enter on an answer moves on rather than sending the form before the last question.
    form.addEventListener("keydown", function (event) {
      if (event.key !== "Enter" || current === last || !event.target.matches("input")) { return; }
      event.preventDefault();
      goNext();
    });
    // The error summary links to a question: open its screen.
    form.addEventListener("click", function (event) {
      var link = event.target.closest && event.target.closest("a[href^='#']");
      if (!link) { return; }
      var target = document.getElementById(link.getAttribute("href").slice(1));
      items.forEach(function (item, i) {
        if (target && item.contains(target)) { show(i, false); }
      });
    });

    // Read aloud: the instructions, the question and its answers, in their language.
    var readButton = reader ? reader.querySelector("[data-read]") : null;
    function stopReading() {
      if (!readButton || !speechSupported()) { return; }
      window.speechSynthesis.cancel();
      readButton.textContent = reader.getAttribute("data-label-read");
    }
    function textOf(element) {
      return element ? element.textContent.replace(/\s+/g, " ").trim() : "";
    }
    function read() {
      if (window.speechSynthesis.speaking) { stopReading(); return; }
      var item = items[current];
      var parts = [textOf(instructions), textOf(item.querySelector(".q-text"))];
      item.querySelectorAll(".q-option label").forEach(function (label) {
        parts.push(textOf(label));
      });
      var utterance = new window.SpeechSynthesisUtterance(parts.filter(Boolean).join(". "));
      // The page's language, unless the questionnaire's words are marked as another one
      // (an instrument shown in English on a page in another language).
      var question = item.querySelector(".q-text") || item;
      var marked = question.closest("[lang]");
      utterance.lang = (marked && marked.lang) || document.documentElement.lang || "en";
      utterance.onend = utterance.onerror = function () {
        readButton.textContent = reader.getAttribute("data-label-read");
      };
      readButton.textContent = reader.getAttribute("data-label-stop");
      window.speechSynthesis.speak(utterance);
    }
    if (reader && readButton && speechSupported()) {
      reader.hidden = false;
      readButton.addEventListener("click", read);
      window.addEventListener("pagehide", stopReading);
    }

    form.classList.add("one-at-a-time");
    nav.hidden = false;
    // After a refused form, open the first question that needs an answer.
    var firstError = items.filter(function (item) { return item.classList.contains("has-error"); })[0];
    show(firstError ? items.indexOf(firstError) : 0, false);
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("form[data-one-at-a-time]").forEach(setup);
  });
})();
