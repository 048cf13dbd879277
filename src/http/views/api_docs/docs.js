// Swagger UI over this server's own description. The base layout: no top bar with a box to
// load other documents (the page's Content-Security-Policy would refuse them anyway), and no
// validator badge (it would fetch an image from the validator's site).
window.addEventListener("load", function () {
  window.ui = SwaggerUIBundle({
    url: "/api/schema/",
    dom_id: "#swagger-ui",
    // Without deep links: Swagger UI puts them as links inside the buttons that open each
    // operation, a control inside a control (axe-core: nested-interactive).
    deepLinking: false,
    layout: "BaseLayout",
    presets: [SwaggerUIBundle.presets.apis],
    validatorUrl: null,
    displayRequestDuration: true,
  });

  // Swagger UI renders some controls without a name a screen reader could announce: the
  // copy buttons (an icon only) and the request body's text area. Name them as they appear,
  // and let the keyboard reach the code blocks that scroll sideways on a narrow screen.
  var root = document.getElementById("swagger-ui");
  function name(element, label) {
    if (!element.hasAttribute("aria-label")) element.setAttribute("aria-label", label);
  }
  function nameControls() {
    root.querySelectorAll(".copy-to-clipboard > button").forEach(function (b) {
      name(b, "Copy to clipboard");
    });
    root.querySelectorAll(".close-modal").forEach(function (b) {
      name(b, "Close");
    });
    // The dialog's "Authorize" buttons are named "Apply credentials", a name that differs
    // from what they show (what speech input users would say).
    root.querySelectorAll(".auth-btn-wrapper .authorize[aria-label='Apply credentials']").forEach(function (b) {
      b.setAttribute("aria-label", "Authorize: apply credentials");
    });
    root.querySelectorAll("textarea").forEach(function (t) {
      if (t.labels && t.labels.length) return;
      name(t, t.classList.contains("body-param__text") ? "Request body" : "Value");
    });
    root.querySelectorAll("select").forEach(function (s) {
      if (s.labels && s.labels.length) return;
      name(s, s.closest(".content-type-wrapper, .body-param-content-type") ? "Media type" : "Choice");
    });
    root.querySelectorAll(".curl, pre.microlight, .highlight-code pre").forEach(function (p) {
      if (!p.hasAttribute("tabindex")) p.setAttribute("tabindex", "0");
    });
  }
  new MutationObserver(nameControls).observe(root, { childList: true, subtree: true });
});
