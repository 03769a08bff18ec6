// Progressive enhancement only: every page works without this script.
// Adds "Expand all" / "Collapse all" buttons above each invocation tree.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  for (const tree of document.querySelectorAll(".tree")) {
    const tools = document.createElement("div");
    tools.className = "tree-tools";
    for (const [label, open] of [["Expand all", true], ["Collapse all", false]]) {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "secondary";
      button.textContent = label;
      button.addEventListener("click", () => {
        for (const node of tree.querySelectorAll("details.call")) node.open = open;
      });
      tools.appendChild(button);
    }
    tree.before(tools);
  }
});
