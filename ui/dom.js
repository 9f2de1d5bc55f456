// The one DOM helper every view uses, and small pieces built from it.

/**
 * Builds an element: el("div", {class: "x", onclick: fn}, child, "text", ...).
 * `value`, `checked`, `disabled` and `selected` are set as properties too (so they
 * work after the element has been shown); null/undefined/false attributes are left out.
 */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs ?? {})) {
    if (name === "checked" || name === "disabled" || name === "selected" || name === "open") {
      node[name] = Boolean(value);
      continue;
    }
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") node.addEventListener(name.slice(2), value);
    else if (name === "value") node.value = String(value);
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

/** Focusable elements inside `root`, in tab order (for dialogs that trap focus). */
export function focusables(root) {
  const selector = "a[href], button:not([disabled]), input:not([disabled]):not([type=hidden]), select:not([disabled]), textarea:not([disabled]), summary, [tabindex]:not([tabindex='-1'])";
  return [...root.querySelectorAll(selector)].filter((n) => !n.closest("[hidden]") && n.getClientRects().length > 0);
}

/** Keeps Tab and Shift+Tab inside a modal dialog (showModal already makes the rest inert). */
export function trapFocus(dialog) {
  dialog.addEventListener("keydown", (event) => {
    if (event.key !== "Tab") return;
    const items = focusables(dialog);
    if (items.length === 0) return;
    const first = items[0];
    const last = items[items.length - 1];
    if (event.shiftKey && document.activeElement === first) {
      event.preventDefault();
      last.focus();
    } else if (!event.shiftKey && document.activeElement === last) {
      event.preventDefault();
      first.focus();
    }
  });
}

/**
 * Rebuilds part of a view without losing the keyboard focus: the element focused
 * before (found again by id, or by data-testid) is focused again after `rebuild`.
 */
export function keepFocus(root, rebuild) {
  const active = document.activeElement;
  let selector = null;
  if (active && active !== document.body && root.contains(active)) {
    if (active.id) selector = `#${CSS.escape(active.id)}`;
    else if (active.dataset?.testid) selector = `[data-testid="${CSS.escape(active.dataset.testid)}"]`;
  }
  rebuild();
  if (selector && !root.contains(document.activeElement)) root.querySelector(selector)?.focus({ preventScroll: true });
}

/** Replaces `node`'s children, skipping null/false entries (as `el` does). */
export function fill(node, ...children) {
  node.replaceChildren(...children.flat(Infinity).filter((c) => c !== null && c !== undefined && c !== false));
}
