// The honeydue admin console: one page, talking only to /graphql.
//
// Plain JavaScript with no build step, on the vendored Preact (globals `preact`, `preactHooks`), htm (`htm`)
// and uPlot (`uPlot`) that honeydue/admin_console.py loads before this file. Rules this file keeps:
// * the CSP allows no inline script or style: nothing here sets a `style` attribute or injects <style>;
// * the token lives in sessionStorage (this tab, until it closes), never localStorage;
// * every action asks for confirmation in a <dialog> first, and the server writes it to the audit log.
"use strict";

(function () {
  const { h, render } = window.preact;
  const { useState, useEffect, useRef, useCallback } = window.preactHooks;
  const html = window.htm.bind(h);
  const ENDPOINT = document.getElementById("app").dataset.endpoint || "/graphql";
  const TOKEN_KEY = "honeydue.admin.token";
  const PAGE = 25;

  // --- talking to the API -------------------------------------------------------------------------------

  class ApiError extends Error {
    constructor(message, code) {
      super(message);
      this.code = code;
    }
  }

  const session = {
    get token() { return window.sessionStorage.getItem(TOKEN_KEY); },
    set token(value) {
      if (value) window.sessionStorage.setItem(TOKEN_KEY, value);
      else window.sessionStorage.removeItem(TOKEN_KEY);
    },
    onExpired: () => {},
  };

  async function gql(query, variables, token) {
    const headers = { "Content-Type": "application/json" };
    const bearer = token === undefined ? session.token : token;
    if (bearer) headers.Authorization = "Bearer " + bearer;
    let response;
    try {
      response = await fetch(ENDPOINT, { method: "POST", headers, body: JSON.stringify({ query, variables }) });
    } catch (err) {
      throw new ApiError("The server did not answer. Check your connection and try again.", "NETWORK");
    }
    let body;
    try {
      body = await response.json();
    } catch (err) {
      throw new ApiError("The server answered " + response.status + " without a GraphQL answer.", "HTTP");
    }
    if (body.errors && body.errors.length) {
      const first = body.errors[0];
      const code = (first.extensions && first.extensions.code) || "ERROR";
      if (code === "UNAUTHENTICATED" && token === undefined) session.onExpired();
      throw new ApiError(first.message, code);
    }
    return body.data;
  }

  // A mutation's payload, or an ApiError carrying its userErrors' messages.
  async function mutate(query, variables) {
    const data = await gql(query, variables);
    const payload = data[Object.keys(data)[0]];
    if (payload.userErrors && payload.userErrors.length) {
      throw new ApiError(payload.userErrors.map((e) => e.message).join(" "), payload.userErrors[0].code);
    }
    return payload;
  }

  // Runs `load` when `deps` change; {data, error, loading, reload}.
  function useQuery(load, deps) {
    const [state, setState] = useState({ data: null, error: null, loading: true });
    const [tick, setTick] = useState(0);
    useEffect(() => {
      let live = true;
      setState((s) => ({ data: s.data, error: null, loading: true }));
      load().then(
        (data) => live && setState({ data, error: null, loading: false }),
        (error) => live && setState({ data: null, error, loading: false }),
      );
      return () => { live = false; };
    }, [...deps, tick]);
    return { ...state, reload: useCallback(() => setTick((t) => t + 1), []) };
  }

  // --- formatting ---------------------------------------------------------------------------------------

  const number = new Intl.NumberFormat("en");
  function bytes(n) {
    if (n === null || n === undefined) return "";
    const units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let value = Number(n);
    let unit = 0;
    while (value >= 1024 && unit < units.length - 1) { value /= 1024; unit += 1; }
    return (unit === 0 ? value : value.toFixed(1)) + " " + units[unit];
  }
  function when(iso) {
    if (!iso) return "—";
    const d = new Date(iso);
    return d.toISOString().replace("T", " ").slice(0, 16) + " UTC";
  }
  const yesNo = (v) => (v ? "yes" : "no");
  function parseJson(text) {
    try { return JSON.parse(text); } catch (err) { return null; }
  }

  // --- routing: #/screen/id, so the back button and bookmarks work ----------------------------------------

  function currentRoute() {
    const parts = window.location.hash.replace(/^#\/?/, "").split("/").filter(Boolean);
    return { screen: parts[0] || "dashboard", id: parts[1] ? decodeURIComponent(parts[1]) : null };
  }
  function useRoute() {
    const [route, setRoute] = useState(currentRoute());
    useEffect(() => {
      const changed = () => setRoute(currentRoute());
      window.addEventListener("hashchange", changed);
      return () => window.removeEventListener("hashchange", changed);
    }, []);
    return route;
  }
  const href = (screen, id) => "#/" + screen + (id ? "/" + encodeURIComponent(id) : "");

  // --- shared pieces ------------------------------------------------------------------------------------

  function Status({ query, empty }) {
    if (query.loading && !query.data) return html`<p class="muted" role="status">Loading…</p>`;
    if (query.error) return html`<p class="error" role="alert">${query.error.message}</p>`;
    if (empty) return html`<p class="muted">${empty}</p>`;
    return null;
  }

  function Table({ caption, columns, rows, empty }) {
    if (!rows.length) return html`<p class="muted">${empty || "Nothing here."}</p>`;
    return html`<div class="table-wrap"><table>
      <caption>${caption}</caption>
      <thead><tr>${columns.map((c) => html`<th scope="col">${c}</th>`)}</tr></thead>
      <tbody>${rows.map((cells) => html`<tr>${cells.map((c, i) => (i === 0
        ? html`<th scope="row">${c}</th>` : html`<td>${c}</td>`))}</tr>`)}</tbody>
    </table></div>`;
  }

  function Facts({ items }) {
    return html`<dl class="facts">${items.map(([label, value]) => html`<div>
      <dt>${label}</dt><dd>${value}</dd></div>`)}</dl>`;
  }

  // Paging over a connection: a stack of `after` cursors.
  function usePager(resetKey) {
    const [stack, setStack] = useState([null]);
    useEffect(() => setStack([null]), [resetKey]);
    return {
      after: stack[stack.length - 1],
      page: stack.length,
      next: (cursor) => setStack((s) => [...s, cursor]),
      previous: () => setStack((s) => (s.length > 1 ? s.slice(0, -1) : s)),
    };
  }

  function Pager({ pager, connection, label }) {
    if (!connection) return null;
    const pages = Math.max(1, Math.ceil(connection.totalCount / PAGE));
    return html`<nav class="pager" aria-label=${label + " pages"}>
      <button type="button" onClick=${pager.previous} disabled=${pager.page === 1}>Previous page</button>
      <span>Page ${pager.page} of ${pages} · ${number.format(connection.totalCount)} in all</span>
      <button type="button" onClick=${() => pager.next(connection.pageInfo.endCursor)}
        disabled=${!connection.pageInfo.hasNextPage}>Next page</button>
    </nav>`;
  }

  function SearchForm({ label, initial, onSearch }) {
    const [text, setText] = useState(initial || "");
    const submit = (event) => { event.preventDefault(); onSearch(text.trim()); };
    return html`<form class="search" role="search" onSubmit=${submit}>
      <label for="search">${label}</label>
      <input id="search" name="search" type="search" value=${text} onInput=${(e) => setText(e.target.value)}
        autocomplete="off" />
      <button type="submit">Search</button>
    </form>`;
  }

  // The confirmation every action goes through: a modal <dialog> (focus moves in, Escape cancels).
  function ConfirmDialog({ request, onClose }) {
    const ref = useRef(null);
    const [reason, setReason] = useState("");
    const [busy, setBusy] = useState(false);
    const [error, setError] = useState(null);
    useEffect(() => {
      const dialog = ref.current;
      if (request && dialog && !dialog.open) {
        setReason(""); setError(null); setBusy(false);
        dialog.showModal();
      }
    }, [request]);
    if (!request) return null;
    const close = () => { if (ref.current && ref.current.open) ref.current.close(); onClose(); };
    const confirm = async (event) => {
      event.preventDefault();
      setBusy(true); setError(null);
      try {
        await request.run(reason.trim() || null);
        close();
      } catch (err) {
        setError(err.message); setBusy(false);
      }
    };
    return html`<dialog ref=${ref} class="confirm" aria-labelledby="confirm-title" onClose=${onClose}>
      <form method="dialog" onSubmit=${confirm}>
        <h2 id="confirm-title">${request.title}</h2>
        <p>${request.message}</p>
        ${request.askReason && html`<label for="confirm-reason">Reason (kept in the audit log)</label>
          <textarea id="confirm-reason" maxlength="500" rows="3" value=${reason}
            onInput=${(e) => setReason(e.target.value)}></textarea>`}
        ${error && html`<p class="error" role="alert">${error}</p>`}
        <div class="buttons">
          <button type="button" onClick=${close}>Cancel</button>
          <button type="submit" class=${request.danger ? "danger" : "primary"} disabled=${busy}>
            ${request.confirmLabel}</button>
        </div>
      </form>
    </dialog>`;
  }

  // --- sign-in ------------------------------------------------------------------------------------------

  const LOGIN = `mutation($i: LoginInput!) { login(input: $i) { token user { id email displayName isAdmin }
    userErrors { code message } } }`;

  function SignIn({ onSignedIn, notice }) {
    const [email, setEmail] = useState("");
    const [password, setPassword] = useState("");
    const [error, setError] = useState(notice || null);
    const [busy, setBusy] = useState(false);
    const submit = async (event) => {
      event.preventDefault();
      setBusy(true); setError(null);
      try {
        const data = await gql(LOGIN, { i: { email, password } }, null);
        const result = data.login;
        if (result.userErrors.length) throw new ApiError(result.userErrors[0].message, result.userErrors[0].code);
        if (!result.user.isAdmin) {
          // Not an admin: end the session just made, keep nothing, and say so plainly.
          await gql("mutation { logout { ok } }", {}, result.token).catch(() => {});
          throw new ApiError("This account is not an administrator. The admin console is for administrators "
            + "only; ask one to run `honeydue createadmin` or to make you an admin.", "FORBIDDEN");
        }
        session.token = result.token;
        onSignedIn(result.user);
      } catch (err) {
        setError(err.message); setBusy(false);
      }
    };
    return html`<main class="signin" id="main">
      <h1>honeydue admin</h1>
      <form onSubmit=${submit} aria-describedby=${error ? "signin-error" : null}>
        <label for="email">Email</label>
        <input id="email" name="email" type="email" autocomplete="username" required value=${email}
          onInput=${(e) => setEmail(e.target.value)} />
        <label for="password">Password</label>
        <input id="password" name="password" type="password" autocomplete="current-password" required
          value=${password} onInput=${(e) => setPassword(e.target.value)} />
        ${error && html`<p class="error" id="signin-error" role="alert">${error}</p>`}
        <button type="submit" class="primary" disabled=${busy}>Sign in</button>
      </form>
      <p class="muted">Sessions of admin accounts end after ADMIN_TOKEN_TTL_HOURS (12 hours unless configured).</p>
    </main>`;
  }

  // --- dashboard ----------------------------------------------------------------------------------------

  const DASHBOARD = `{ admin {
    stats { users verifiedUsers disabledUsers admins residences tasks completions7Days completions30Days media
      mediaBytes pendingUploads mediaByPurpose { purpose count bytes } }
    signups: timeseries(metric: SIGNUPS, days: 90) { day count }
    completions: timeseries(metric: COMPLETIONS, days: 90) { day count }
    jobs { name description cron nextRunAt lastStartedAt lastSuccessAt lastErrorAt lastError }
  } }`;

  function Chart({ title, series }) {
    const box = useRef(null);
    useEffect(() => {
      const el = box.current;
      if (!el || !window.uPlot) return undefined;
      const xs = series.map((d) => Date.parse(d.day + "T00:00:00Z") / 1000);
      const ys = series.map((d) => d.count);
      const width = () => Math.max(240, el.clientWidth);
      const plot = new window.uPlot({
        width: width(), height: 180, legend: { show: false },
        scales: { x: { time: true } },
        series: [{}, { label: title, stroke: "#b45309", fill: "rgba(180, 83, 9, 0.12)", width: 2 }],
        axes: [{}, { size: 40 }],
      }, [xs, ys], el);
      const resize = () => plot.setSize({ width: width(), height: 180 });
      window.addEventListener("resize", resize);
      return () => { window.removeEventListener("resize", resize); plot.destroy(); };
    }, [series]);
    const total = series.reduce((sum, d) => sum + d.count, 0);
    return html`<figure class="chart">
      <figcaption>${title}: ${number.format(total)} in the last ${series.length} days</figcaption>
      <div ref=${box} class="chart-box" role="img"
        aria-label=${title + " per day over " + series.length + " days, " + total + " in all"}></div>
    </figure>`;
  }

  function JobHealth({ jobs, onRun }) {
    return html`<${Table} caption="Periodic jobs" columns=${["Job", "Schedule (UTC)", "Last run", "Last success",
      "Last error", "Next run", ""]}
      rows=${jobs.map((j) => [
        html`<span title=${j.description}>${j.name}</span>`, html`<code>${j.cron}</code>`, when(j.lastStartedAt),
        when(j.lastSuccessAt),
        j.lastErrorAt ? html`<span class="bad">${when(j.lastErrorAt)}: ${j.lastError}</span>` : "—",
        when(j.nextRunAt),
        html`<button type="button" onClick=${() => onRun(j.name)}>Run now<span class="sr-only"> ${j.name}</span>
          </button>`,
      ])} />`;
  }

  const RUN_JOB = `mutation($i: AdminRunJobInput!) { adminRunJob(input: $i) { queued userErrors { code message } } }`;

  function Dashboard({ confirm, announce }) {
    const query = useQuery(() => gql(DASHBOARD), []);
    const run = (name) => confirm({
      title: "Run " + name + " now?", message: "The job is sent to the workers at once, outside its schedule.",
      confirmLabel: "Run now",
      run: async () => {
        const result = await mutate(RUN_JOB, { i: { name } });
        announce(result.queued ? name + " was sent to the workers." : name + " could not be queued; try again.");
        query.reload();
      },
    });
    const a = query.data && query.data.admin;
    return html`<section aria-labelledby="page-title">
      <h1 id="page-title">Dashboard</h1>
      <${Status} query=${query} />
      ${a && html`
        <${Facts} items=${[
          ["Users", number.format(a.stats.users)], ["Verified users", number.format(a.stats.verifiedUsers)],
          ["Disabled users", number.format(a.stats.disabledUsers)], ["Admins", number.format(a.stats.admins)],
          ["Residences", number.format(a.stats.residences)], ["Tasks", number.format(a.stats.tasks)],
          ["Completions, 7 days", number.format(a.stats.completions7Days)],
          ["Completions, 30 days", number.format(a.stats.completions30Days)],
          ["Files", number.format(a.stats.media) + " · " + bytes(a.stats.mediaBytes)],
          ["Pending uploads", number.format(a.stats.pendingUploads)],
        ]} />
        <div class="charts">
          <${Chart} title="Sign-ups" series=${a.signups} />
          <${Chart} title="Completions" series=${a.completions} />
        </div>
        <${Table} caption="Files by purpose" columns=${["Purpose", "Files", "Size"]}
          rows=${a.stats.mediaByPurpose.map((u) => [u.purpose, number.format(u.count), bytes(u.bytes)])}
          empty="No files yet." />
        <h2>Job health</h2>
        <${JobHealth} jobs=${a.jobs} onRun=${run} />`}
    </section>`;
  }

  // --- users --------------------------------------------------------------------------------------------

  const USERS = `query($search: String, $after: String) { admin { users(search: $search, first: ${PAGE},
    after: $after) { totalCount pageInfo { hasNextPage endCursor }
    edges { node { id email displayName emailVerified isAdmin disabled createdAt } } } } }`;

  function Users() {
    const [search, setSearch] = useState("");
    const pager = usePager(search);
    const query = useQuery(() => gql(USERS, { search: search || null, after: pager.after }), [search, pager.after]);
    const users = query.data && query.data.admin.users;
    return html`<section aria-labelledby="page-title">
      <h1 id="page-title">Users</h1>
      <${SearchForm} label="Search users by email or name" initial=${search} onSearch=${setSearch} />
      <${Status} query=${query} />
      ${users && html`
        <${Table} caption=${search ? "Users matching “" + search + "”" : "Every user, oldest account first"}
          columns=${["Email", "Name", "Verified", "Admin", "Disabled", "Joined"]}
          rows=${users.edges.map(({ node: u }) => [
            html`<a href=${href("users", u.id)}>${u.email}</a>`, u.displayName, yesNo(u.emailVerified),
            yesNo(u.isAdmin), u.disabled ? html`<span class="bad">disabled</span>` : "no", when(u.createdAt),
          ])} empty="No user matches." />
        <${Pager} pager=${pager} connection=${users} label="Users" />`}
    </section>`;
  }

  const USER = `query($id: ID!) { admin {
    userFacts(id: $id) { disabledAt disabledReason
      user { id email displayName emailVerified isAdmin disabled createdAt
        sessions { id createdAt lastUsedAt userAgent ipAddress }
        devices { id platform createdAt lastSeenAt }
        notificationPreferences { type enabled hourOfDay } }
      memberships { role residence { id name } }
      storage { purpose count bytes } }
    userEmails(id: $id) { id kind to status attempts lastError createdAt sentAt }
    userChannels(id: $id) { id kind name urlHint createdAt deadAt deadReason }
    deliveries(userId: $id, first: 20) { edges { node { id kind targetId status attempts lastError createdAt
      sentAt user { email } } } }
    auditLog(targetId: $id, first: 20) { edges { node { id createdAt action reason actor { email } } } }
  } }`;

  const ACTIONS = {
    disable: `mutation($i: AdminSetUserDisabledInput!) { adminSetUserDisabled(input: $i) {
      user { id disabled } userErrors { code message } } }`,
    reset: `mutation($i: AdminSendPasswordResetInput!) { adminSendPasswordReset(input: $i) {
      user { id } userErrors { code message } } }`,
    revoke: `mutation($i: AdminRevokeSessionsInput!) { adminRevokeSessions(input: $i) {
      revokedCount userErrors { code message } } }`,
    admin: `mutation($i: AdminSetAdminInput!) { adminSetAdmin(input: $i) {
      user { id isAdmin } userErrors { code message } } }`,
    remove: `mutation($i: AdminDeleteUserInput!) { adminDeleteUser(input: $i) { ok userErrors { code message } } }`,
  };

  function UserDetail({ id, confirm, announce }) {
    const query = useQuery(() => gql(USER, { id }), [id]);
    const a = query.data && query.data.admin;
    const facts = a && a.userFacts;
    const u = facts && facts.user;
    const act = (request) => confirm({
      ...request,
      run: async (reason) => {
        await request.run(reason);
        query.reload();
      },
    });
    const actions = u && [
      u.disabled
        ? ["Enable account", () => act({
          title: "Enable " + u.email + "?", message: "They can sign in again. Sessions ended when the account was "
            + "disabled stay ended.", confirmLabel: "Enable account", askReason: true,
          run: async (reason) => {
            await mutate(ACTIONS.disable, { i: { userId: u.id, disabled: false, reason } });
            announce(u.email + " is enabled.");
          },
        })]
        : ["Disable account", () => act({
          title: "Disable " + u.email + "?", danger: true, askReason: true, confirmLabel: "Disable account",
          message: "They cannot sign in, every session ends and their tokens are refused at once. Media links "
            + "they were given keep working until they expire.",
          run: async (reason) => {
            await mutate(ACTIONS.disable, { i: { userId: u.id, disabled: true, reason } });
            announce(u.email + " is disabled.");
          },
        })],
      ["Send password reset", () => act({
        title: "Email a password reset link to " + u.email + "?", confirmLabel: "Send reset email",
        message: "The same email as “Forgot password”: a link valid for a limited time, usable once.",
        run: async () => {
          await mutate(ACTIONS.reset, { i: { userId: u.id } });
          announce("A password reset email is on its way to " + u.email + ".");
        },
      })],
      ["Sign out everywhere", () => act({
        title: "Sign " + u.email + " out everywhere?", confirmLabel: "Sign out everywhere",
        message: "Every session of theirs ends; they can sign in again.",
        run: async () => {
          const result = await mutate(ACTIONS.revoke, { i: { userId: u.id } });
          announce(result.revokedCount + " session(s) of " + u.email + " ended.");
        },
      })],
      [u.isAdmin ? "Remove admin" : "Make admin", () => act({
        title: (u.isAdmin ? "Remove admin rights from " : "Make ") + u.email + (u.isAdmin ? "?" : " an admin?"),
        confirmLabel: u.isAdmin ? "Remove admin" : "Make admin", danger: !u.isAdmin,
        message: u.isAdmin ? "They lose access to this console at once."
          : "They can see every account and take every action here. Their sessions are cut to the admin lifetime.",
        run: async () => {
          await mutate(ACTIONS.admin, { i: { userId: u.id, admin: !u.isAdmin } });
          announce(u.email + (u.isAdmin ? " is no longer an admin." : " is now an admin."));
        },
      })],
      ["Delete account", () => confirm({
        title: "Delete " + u.email + "?", danger: true, askReason: true, confirmLabel: "Delete for good",
        message: "As if they deleted it themselves: the account and the residences only they belong to go now, "
          + "their files shortly after. This cannot be undone.",
        run: async (reason) => {
          await mutate(ACTIONS.remove, { i: { userId: u.id, reason } });
          announce(u.email + " was deleted.");
          window.location.hash = href("users");
        },
      })],
    ];
    return html`<section aria-labelledby="page-title">
      <p><a href=${href("users")}>← Users</a></p>
      <h1 id="page-title">${u ? u.email : "User"}</h1>
      <${Status} query=${query} />
      ${u && html`
        <${Facts} items=${[
          ["Name", u.displayName], ["Verified", yesNo(u.emailVerified)], ["Admin", yesNo(u.isAdmin)],
          ["Disabled", u.disabled ? "yes, " + when(facts.disabledAt)
            + (facts.disabledReason ? ": " + facts.disabledReason : "") : "no"],
          ["Joined", when(u.createdAt)], ["ID", html`<code>${u.id}</code>`],
        ]} />
        <div class="actions" role="group" aria-label="Actions">
          ${actions.map(([label, onClick]) => html`<button type="button" onClick=${onClick}
            class=${/Delete|Disable/.test(label) ? "danger" : ""}>${label}</button>`)}
        </div>
        <h2>Sessions</h2>
        <${Table} caption="Live sessions, newest first" columns=${["Signed in", "Last used", "Client", "Address"]}
          rows=${u.sessions.map((s) => [when(s.createdAt), when(s.lastUsedAt), s.userAgent || "—",
            s.ipAddress || "—"])} empty="No live session." />
        <h2>Residences</h2>
        <${Table} caption="Residences and roles" columns=${["Residence", "Role"]}
          rows=${facts.memberships.map((m) => [html`<a href=${href("residences", m.residence.id)}>
            ${m.residence.name}</a>`, m.role])} empty="Belongs to no residence." />
        <h2>Storage</h2>
        <${Table} caption="Files uploaded, by purpose" columns=${["Purpose", "Files", "Size"]}
          rows=${facts.storage.map((s) => [s.purpose, number.format(s.count), bytes(s.bytes)])}
          empty="No files." />
        <h2>Notifications</h2>
        <${Table} caption="Notification preferences" columns=${["Type", "On", "Hour"]}
          rows=${u.notificationPreferences.map((p) => [p.type, yesNo(p.enabled), p.hourOfDay + ":00"])} />
        <${Table} caption="Push devices" columns=${["Platform", "Registered", "Last seen"]}
          rows=${u.devices.map((d) => [d.platform, when(d.createdAt), when(d.lastSeenAt)])}
          empty="No push device." />
        <${Table} caption="Webhook and Apprise channels" columns=${["Name", "Kind", "Where", "Added", "State"]}
          rows=${a.userChannels.map((c) => [c.name, c.kind, c.urlHint, when(c.createdAt), c.deadAt
            ? html`<span class="bad">dead since ${when(c.deadAt)}: ${c.deadReason || ""}</span>` : "active"])}
          empty="No webhook or Apprise channel." />
        <h2>Recent emails</h2>
        <${EmailTable} rows=${a.userEmails} caption="The last 20 emails to this user" />
        <h2>Recent push and webhook deliveries</h2>
        <${DeliveryTable} rows=${a.deliveries.edges.map((e) => e.node)}
          caption="The last 20 deliveries to this user's devices and channels" />
        <h2>Admin actions on this user</h2>
        <${Table} caption="Audit entries" columns=${["When", "Action", "By", "Reason"]}
          rows=${a.auditLog.edges.map(({ node: e }) => [when(e.createdAt), e.action,
            e.actor ? e.actor.email : "(deleted admin)", e.reason || "—"])} empty="None." />`}
    </section>`;
  }

  // --- residences ---------------------------------------------------------------------------------------

  const RESIDENCES = `query($search: String, $after: String) { admin { residences(search: $search,
    first: ${PAGE}, after: $after) { totalCount pageInfo { hasNextPage endCursor }
    edges { node { id name address createdAt taskCount memberCount } } } } }`;

  function Residences() {
    const [search, setSearch] = useState("");
    const pager = usePager(search);
    const query = useQuery(() => gql(RESIDENCES, { search: search || null, after: pager.after }),
      [search, pager.after]);
    const list = query.data && query.data.admin.residences;
    return html`<section aria-labelledby="page-title">
      <h1 id="page-title">Residences</h1>
      <${SearchForm} label="Search residences by name or address" initial=${search} onSearch=${setSearch} />
      <${Status} query=${query} />
      ${list && html`
        <${Table} caption="Residences, newest first" columns=${["Name", "Address", "Members", "Tasks", "Created"]}
          rows=${list.edges.map(({ node: r }) => [html`<a href=${href("residences", r.id)}>${r.name}</a>`,
            r.address || "—", r.memberCount, r.taskCount, when(r.createdAt)])} empty="No residence matches." />
        <${Pager} pager=${pager} connection=${list} label="Residences" />`}
    </section>`;
  }

  const RESIDENCE = `query($id: ID!) { admin { residence(id: $id) { id name address timezone createdAt taskCount
    members { role joinedAt user { id email displayName } }
    tasks { id title dueDate archived completed } storage { purpose count bytes } } } }`;

  function ResidenceDetail({ id }) {
    const query = useQuery(() => gql(RESIDENCE, { id }), [id]);
    const r = query.data && query.data.admin.residence;
    const used = r ? r.storage.reduce((sum, s) => sum + s.bytes, 0) : 0;
    return html`<section aria-labelledby="page-title">
      <p><a href=${href("residences")}>← Residences</a></p>
      <h1 id="page-title">${r ? r.name : "Residence"}</h1>
      <${Status} query=${query} />
      ${r && html`
        <${Facts} items=${[["Address", r.address || "—"], ["Timezone", r.timezone], ["Created", when(r.createdAt)],
          ["Tasks", r.taskCount], ["Storage used", bytes(used)], ["ID", html`<code>${r.id}</code>`]]} />
        <h2>Members</h2>
        <${Table} caption="Members and roles" columns=${["Member", "Name", "Role", "Joined"]}
          rows=${r.members.map((m) => [html`<a href=${href("users", m.user.id)}>${m.user.email}</a>`,
            m.user.displayName, m.role, when(m.joinedAt)])} />
        <h2>Tasks</h2>
        <${Table} caption="Tasks, newest first (at most 100)" columns=${["Title", "Due", "State"]}
          rows=${r.tasks.map((t) => [t.title, t.dueDate || "—",
            t.archived ? "archived" : t.completed ? "done" : "open"])} empty="No tasks." />
        <h2>Storage</h2>
        <${Table} caption="Files by purpose" columns=${["Purpose", "Files", "Size"]}
          rows=${r.storage.map((s) => [s.purpose, number.format(s.count), bytes(s.bytes)])} empty="No files." />`}
    </section>`;
  }

  // --- storage ------------------------------------------------------------------------------------------

  const STORAGE = `{ admin { stats { media mediaBytes pendingUploads mediaByPurpose { purpose count bytes }
    variantsByKind { purpose count bytes } }
    jobs { name lastStartedAt lastSuccessAt lastErrorAt lastError lastReport } } }`;

  function JobReport({ job, title, describe }) {
    if (!job) return null;
    const report = parseJson(job.lastReport);
    return html`<h2>${title}</h2>
      <${Facts} items=${[
        ["Last run", when(job.lastStartedAt)], ["Last success", when(job.lastSuccessAt)],
        ["Last error", job.lastErrorAt ? when(job.lastErrorAt) + ": " + job.lastError : "—"],
        ...(report ? describe(report) : [["Report", "No successful run recorded yet."]]),
      ]} />`;
  }

  function Storage() {
    const query = useQuery(() => gql(STORAGE), []);
    const a = query.data && query.data.admin;
    const job = (name) => a && a.jobs.find((j) => j.name === name);
    const sample = (list) => (list && list.length ? list.join(", ") : "none");
    return html`<section aria-labelledby="page-title">
      <h1 id="page-title">Storage</h1>
      <${Status} query=${query} />
      ${a && html`
        <${Facts} items=${[["Files", number.format(a.stats.media)], ["Size", bytes(a.stats.mediaBytes)],
          ["Pending uploads", number.format(a.stats.pendingUploads)]]} />
        <${Table} caption="Usage by purpose" columns=${["Purpose", "Files", "Size"]}
          rows=${a.stats.mediaByPurpose.map((u) => [u.purpose, number.format(u.count), bytes(u.bytes)])}
          empty="No files yet." />
        <${Table} caption="Derived files (thumbnails, previews, posters) by kind" columns=${["Kind", "Files", "Size"]}
          rows=${a.stats.variantsByKind.map((u) => [u.purpose, number.format(u.count), bytes(u.bytes)])}
          empty="No derived files yet." />
        <${JobReport} job=${job("reconcile_storage")} title="Last reconcile (bucket against database)"
          describe=${(r) => [["Objects", number.format(r.objects)], ["Orphan objects", number.format(r.orphans)
            ] , ["Rows without object", number.format(r.missing)], ["Deleted", number.format(r.deleted || 0)],
            ["Orphans, e.g.", sample(r.orphan_sample)], ["Missing, e.g.", sample(r.missing_sample)]]} />
        <${JobReport} job=${job("backup_storage")} title="Backup"
          describe=${(r) => (r.configured === false ? [["Backup", "Off: BACKUP_ENDPOINT is not set."]] : [
            ["Copied", number.format(r.copied)], ["Bytes copied", bytes(r.bytes_copied)],
            ["Unchanged", number.format(r.unchanged)], ["Deleted, kept", number.format(r.retained)],
            ["Expired", number.format(r.expired)]])} />`}
    </section>`;
  }

  // --- emails -------------------------------------------------------------------------------------------

  function EmailTable({ rows, caption }) {
    return html`<${Table} caption=${caption} columns=${["Queued", "Kind", "To", "Status", "Attempts", "Sent",
      "Last error"]} rows=${rows.map((e) => [when(e.createdAt), e.kind, e.to || "", html`<span
        class=${e.status === "FAILED" ? "bad" : ""}>${e.status}</span>`, e.attempts, when(e.sentAt),
      e.lastError || "—"])} empty="No emails." />`;
  }

  function DeliveryTable({ rows, caption }) {
    return html`<${Table} caption=${caption} columns=${["Made", "To", "Kind", "Status", "Attempts", "Sent",
      "Last error"]} rows=${rows.map((d) => [when(d.createdAt), d.user ? d.user.email : "—", d.kind, html`<span
        class=${d.status === "FAILED" ? "bad" : ""}>${d.status}</span>`, d.attempts, when(d.sentAt),
      d.lastError || "—"])} empty="No deliveries." />`;
  }

  const DELIVERIES = `query($status: DeliveryStatus, $after: String) { admin { deliveries(status: $status,
    first: ${PAGE}, after: $after) { totalCount pageInfo { hasNextPage endCursor }
    edges { node { id kind targetId status attempts lastError createdAt sentAt user { email } } } } } }`;

  function Deliveries({ status }) {
    const pager = usePager(status);
    const query = useQuery(() => gql(DELIVERIES, { status: status || null, after: pager.after }),
      [status, pager.after]);
    const list = query.data && query.data.admin.deliveries;
    return html`<h2>Push, webhook and Apprise deliveries</h2>
      <${Status} query=${query} />
      ${list && html`<${DeliveryTable} rows=${list.edges.map((e) => e.node)}
          caption="Every message to a device or channel, newest first" />
        <${Pager} pager=${pager} connection=${list} label="Deliveries" />`}`;
  }

  const EMAILS = `query($status: EmailStatus, $after: String) { admin { emails(status: $status, first: ${PAGE},
    after: $after) { totalCount pageInfo { hasNextPage endCursor }
    edges { node { id kind to status attempts lastError createdAt sentAt } } } } }`;

  function Emails() {
    const [status, setStatus] = useState("");
    const pager = usePager(status);
    const query = useQuery(() => gql(EMAILS, { status: status || null, after: pager.after }),
      [status, pager.after]);
    const list = query.data && query.data.admin.emails;
    return html`<section aria-labelledby="page-title">
      <h1 id="page-title">Emails and deliveries</h1>
      <form class="search" onSubmit=${(e) => e.preventDefault()}>
        <label for="email-status">Status (emails and deliveries)</label>
        <select id="email-status" value=${status} onChange=${(e) => setStatus(e.target.value)}>
          <option value="">Every status</option><option value="QUEUED">Queued</option>
          <option value="SENT">Sent</option><option value="FAILED">Failed</option>
        </select>
      </form>
      <${Status} query=${query} />
      ${list && html`<${EmailTable} rows=${list.edges.map((e) => e.node)}
          caption="The email delivery log, newest first" />
        <${Pager} pager=${pager} connection=${list} label="Emails" />`}
      <${Deliveries} status=${status} />
    </section>`;
  }

  // --- audit log ----------------------------------------------------------------------------------------

  const AUDIT = `query($after: String) { admin { auditLog(first: ${PAGE}, after: $after) { totalCount
    pageInfo { hasNextPage endCursor }
    edges { node { id createdAt action targetType targetId reason details actor { id email } } } } } }`;

  function describeDetails(text) {
    const details = parseJson(text) || {};
    return Object.keys(details).map((k) => k + ": " + JSON.stringify(details[k])).join(", ") || "—";
  }

  function Audit() {
    const pager = usePager("audit");
    const query = useQuery(() => gql(AUDIT, { after: pager.after }), [pager.after]);
    const log = query.data && query.data.admin.auditLog;
    return html`<section aria-labelledby="page-title">
      <h1 id="page-title">Audit log</h1>
      <${Status} query=${query} />
      ${log && html`
        <${Table} caption="Every admin action, newest first" columns=${["When", "Who", "Action", "Target",
          "Reason", "Details"]}
          rows=${log.edges.map(({ node: e }) => [when(e.createdAt), e.actor ? e.actor.email : "(deleted admin)",
            e.action, e.targetType === "User" && e.targetId
              ? html`<a href=${href("users", e.targetId)}>${e.targetType} ${e.targetId}</a>`
              : e.targetType + " " + (e.targetId || ""),
            e.reason || "—", describeDetails(e.details)])} empty="No admin action yet." />
        <${Pager} pager=${pager} connection=${log} label="Audit log" />`}
    </section>`;
  }

  // --- the frame ----------------------------------------------------------------------------------------

  const SCREENS = [
    ["dashboard", "Dashboard"], ["users", "Users"], ["residences", "Residences"], ["storage", "Storage"],
    ["emails", "Emails and deliveries"], ["audit", "Audit log"],
  ];

  function Console({ me, onSignOut }) {
    const route = useRoute();
    const [dialog, setDialog] = useState(null);
    const [message, setMessage] = useState("");
    const main = useRef(null);
    useEffect(() => { if (main.current) main.current.focus(); }, [route.screen, route.id]);
    const props = { confirm: setDialog, announce: setMessage, id: route.id };
    let screen;
    if (route.screen === "users") screen = route.id ? html`<${UserDetail} ...${props} />` : html`<${Users} />`;
    else if (route.screen === "residences") {
      screen = route.id ? html`<${ResidenceDetail} id=${route.id} />` : html`<${Residences} />`;
    } else if (route.screen === "storage") screen = html`<${Storage} />`;
    else if (route.screen === "emails") screen = html`<${Emails} />`;
    else if (route.screen === "audit") screen = html`<${Audit} />`;
    else screen = html`<${Dashboard} ...${props} />`;
    return html`<div class="frame">
      <a class="skip" href="#main" onClick=${(e) => { e.preventDefault(); main.current.focus(); }}>
        Skip to content</a>
      <header class="top">
        <span class="brand">honeydue admin</span>
        <nav aria-label="Screens"><ul>
          ${SCREENS.map(([key, label]) => html`<li><a href=${href(key)}
            aria-current=${route.screen === key ? "page" : null}>${label}</a></li>`)}
        </ul></nav>
        <span class="me">${me.email}</span>
        <button type="button" onClick=${onSignOut}>Sign out</button>
      </header>
      <p class="announce" role="status" aria-live="polite">${message}</p>
      <main id="main" tabindex="-1" ref=${main}>${screen}</main>
      <${ConfirmDialog} request=${dialog} onClose=${() => setDialog(null)} />
    </div>`;
  }

  function App() {
    const [me, setMe] = useState(null);
    const [checking, setChecking] = useState(Boolean(session.token));
    const [notice, setNotice] = useState(null);
    useEffect(() => {
      session.onExpired = () => {
        session.token = null;
        setMe(null);
        setNotice("Your session ended (expired, revoked or signed out elsewhere). Sign in again.");
      };
      if (!session.token) return;
      // A reload: the token in sessionStorage is still this tab's; check it is still an admin's.
      gql("{ me { id email displayName isAdmin } }").then((data) => {
        if (data.me.isAdmin) setMe(data.me);
        else session.token = null;
        setChecking(false);
      }, () => { session.token = null; setChecking(false); });
    }, []);
    const signOut = async () => {
      await gql("mutation { logout { ok } }").catch(() => {});
      session.token = null;
      setMe(null);
      setNotice("You are signed out.");
      window.location.hash = "";
    };
    if (checking) return html`<p class="muted" role="status">Loading…</p>`;
    if (!me) return html`<${SignIn} notice=${notice} onSignedIn=${(user) => { setNotice(null); setMe(user); }} />`;
    return html`<${Console} me=${me} onSignOut=${signOut} />`;
  }

  const root = document.getElementById("app");
  root.textContent = "";
  render(html`<${App} />`, root);
}());
