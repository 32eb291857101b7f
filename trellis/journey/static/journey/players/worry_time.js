/* Worry time: add worries one at a time to a list and remove them again. The list is kept in
 * the plain text box the form sends (one worry per line), so the page works without this. */
(function () {
  "use strict";

  function setup(root) {
    var area = root.querySelector("textarea[name=worries]");
    var adder = root.querySelector("[data-adder]");
    if (!area || !adder) { return; }
    var input = adder.querySelector("input");
    var add = adder.querySelector("[data-add]");
    var list = adder.querySelector("[data-list]");
    var live = adder.querySelector("[data-live]");
    var removeLabel = adder.getAttribute("data-label-remove");
    var addedLabel = adder.getAttribute("data-label-added");
    var removedLabel = adder.getAttribute("data-label-removed");
    var plain = root.querySelector("[data-plain]");

    function worries() {
      return area.value.split("\n").map(function (w) { return w.trim(); }).filter(Boolean);
    }
    function save(items) { area.value = items.join("\n"); }

    var heading = adder.querySelector("[data-list-heading]");

    function render() {
      list.textContent = "";
      // "Saved for later" heads the list only once there is something in it.
      if (heading) { heading.hidden = worries().length === 0; }
      worries().forEach(function (worry, index) {
        var item = document.createElement("li");
        var text = document.createElement("span");
        text.textContent = worry;
        var remove = document.createElement("button");
        remove.type = "button";
        remove.className = "secondary small";
        remove.textContent = removeLabel;
        remove.setAttribute("aria-label", removeLabel + ": " + worry);
        remove.addEventListener("click", function () {
          var items = worries();
          items.splice(index, 1);
          save(items);
          render();
          live.textContent = removedLabel;
          input.focus();
        });
        item.appendChild(text);
        item.appendChild(remove);
        list.appendChild(item);
      });
    }

    function addWorry() {
      var text = input.value.trim();
      if (!text) { input.focus(); return; }
      var items = worries();
      items.push(text.replace(/\n/g, " "));
      save(items);
      input.value = "";
      render();
      live.textContent = addedLabel;
      input.focus();
    }

    adder.hidden = false;
    if (plain) { plain.hidden = true; }
    add.addEventListener("click", addWorry);
    input.addEventListener("keydown", function (event) {
      if (event.key === "Enter") { event.preventDefault(); addWorry(); }
    });
    render();
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-player=worry_time]").forEach(setup);
  });
})();
