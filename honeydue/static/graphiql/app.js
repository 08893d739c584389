// Boots honeydue's self-hosted GraphiQL page.
//
// Why a file and not an inline <script>: the API's Content-Security-Policy allows scripts from our own origin
// only ('self', no 'unsafe-inline'), so the page (honeydue/graphiql.py) carries markup only and everything
// that runs is served from /static/graphiql/. React, ReactDOM and GraphiQL are the UMD globals loaded before
// this file from /static/graphiql/vendor/ (installed by scripts/fetch-graphiql-assets).
(function () {
  "use strict";

  var container = document.getElementById("graphiql");
  // Same-origin endpoint the page was served from (normally /graphql); the page passes it as a data attribute
  // so a root path prefix keeps working.
  var endpoint = new URL(container.getAttribute("data-endpoint") || "/graphql", window.location.href);

  // GraphiQL's dialogs add a <style> element at run time (react-remove-scroll), which the CSP admits only with
  // this response's nonce; that code reads the nonce from the webpack global below.
  window.__webpack_nonce__ = container.getAttribute("data-style-nonce") || undefined;

  // GraphiQL merges the JSON of its "Headers" editor into every request this fetcher makes, which is how a
  // user sends `Authorization: Bearer <token>`.
  var fetcher = GraphiQL.createFetcher({ url: endpoint.toString() });

  var defaultQuery = [
    "# Welcome to the honeydue GraphQL API.",
    "#",
    "# Most queries need a signed-in user: run the `login` (or `register`) mutation,",
    "# copy the `token` from the result, and put it in the Headers tab below as",
    '#   { "Authorization": "Bearer <token>" }',
    "# Headers are kept in this tab only; they are not saved in the browser.",
    "",
    "{",
    "  __typename",
    "}",
    "",
  ].join("\n");

  ReactDOM.createRoot(container).render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      defaultQuery: defaultQuery,
      defaultEditorToolsVisibility: "headers",
      isHeadersEditorEnabled: true,
      shouldPersistHeaders: false,
    })
  );
})();
