/* Starts Swagger UI on the locally served OpenAPI document (no CDN, no inline script). */
window.addEventListener("load", function () {
  window.ui = SwaggerUIBundle({
    url: "/schema/openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
    layout: "BaseLayout",
    persistAuthorization: false,
    tryItOutEnabled: true,
  });
});
