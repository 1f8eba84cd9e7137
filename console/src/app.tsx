// The shell: header navigation, route table, the signed-out guard, profile and 404.
import { useEffect, useState } from "preact/hooks";
import { api } from "./api";
import { ErrorNote, Link, Loading, PageTitle, Select } from "./components";
import { currentLanguage, type Language, languages, setLanguage, t } from "./i18n";
import { SignIn, Register, ResetPassword } from "./pages/auth";
import { DashboardPage } from "./pages/dashboard";
import { DebugtalkPage } from "./pages/debugtalk";
import { ProjectKeysPage } from "./pages/keys";
import { ModulePage, ProjectPage, ProjectReportsPage, ProjectSettingsPage, ProjectsPage } from "./pages/projects";
import { ReportPage } from "./pages/report";
import { TaskEditPage, TasksPage } from "./pages/tasks";
import { TestcasePage } from "./pages/testcase";
import { match, navigate, useLocation } from "./router";
import { refreshSession, signedIn, signedOut, useSession } from "./session";

const PUBLIC_PATHS = ["/signin", "/register", "/reset"];

function LanguageSwitch(props: { onChange: () => void }) {
  return (
    <Select label={t("profile.language")} name="language" value={currentLanguage()}
      onChange={(value) => { setLanguage(value as Language); props.onChange(); }}
      options={languages.map((language) => ({ value: language, label: t(`language.${language}` as never) }))} />
  );
}

function Header(props: { path: string; onLanguage: () => void }) {
  const session = useSession();
  const [open, setOpen] = useState(false);
  async function signOut() {
    try { await api.logout(); } catch { /* the session may be gone already */ }
    signedOut();
    navigate("/signin", { replace: true });
  }
  const links: [string, string][] = [["/", t("nav.dashboard")], ["/projects", t("nav.projects")], ["/tasks", t("nav.tasks")]];
  const current = (to: string) => (to === "/" ? props.path === "/" : props.path.startsWith(to));
  return (
    <header class="top">
      <a class="skip" href="#main">{t("nav.skip")}</a>
      <Link to="/" class="brand">hat</Link>
      {session.status === "signed-in" && (
        <>
          <button type="button" class="menu" aria-expanded={open} aria-controls="nav" onClick={() => setOpen(!open)}>{t("nav.menu")}</button>
          <nav id="nav" class={open ? "open" : ""} aria-label={t("nav.main")} onClick={() => setOpen(false)}>
            {links.map(([to, label]) => (
              <Link key={to} to={to} class={current(to) ? "current" : ""} aria-current={current(to) ? "page" : undefined}>{label}</Link>
            ))}
            <Link to="/profile" class={current("/profile") ? "current" : ""}>{session.user.username}</Link>
            <button type="button" onClick={signOut}>{t("nav.signOut")}</button>
          </nav>
        </>
      )}
      {session.status === "signed-out" && <div class="header-language"><LanguageSwitch onChange={props.onLanguage} /></div>}
    </header>
  );
}

function ProfilePage(props: { onLanguage: () => void }) {
  const session = useSession();
  const user = session.status === "signed-in" ? session.user : null;
  const [timezone, setTimezone] = useState(user?.timezone ?? Intl.DateTimeFormat().resolvedOptions().timeZone);
  const [error, setError] = useState<unknown>(null);
  const [saved, setSaved] = useState(false);
  async function save(event: Event) {
    event.preventDefault();
    setError(null);
    try {
      signedIn(await api.updateMe({ timezone }));
      setSaved(true);
    } catch (failure) {
      setError(failure);
    }
  }
  if (!user) return null;
  return (
    <main id="main">
      <PageTitle title={t("profile.title")} />
      <dl class="facts">
        <dt>{t("register.username")}</dt><dd>{user.username}</dd>
        <dt>{t("register.email")}</dt><dd>{user.email}</dd>
        <dt>{t("register.mobile")}</dt><dd>{user.mobile ?? "—"}</dd>
      </dl>
      <form class="inline" onSubmit={save} noValidate>
        <div class="field">
          <label for="field-profile-timezone">{t("profile.timezone")}</label>
          <input id="field-profile-timezone" value={timezone}
            onInput={(event) => { setTimezone((event.target as HTMLInputElement).value); setSaved(false); }} />
        </div>
        <button type="submit" class="primary">{t("action.save")}</button>
        {saved && <span role="status" class="ok">{t("state.saved")}</span>}
      </form>
      <ErrorNote error={error} />
      <LanguageSwitch onChange={props.onLanguage} />
    </main>
  );
}

type ImportModule = typeof import("./pages/imports");

/** The import page, loaded on first use: its chunk is not part of the first load. */
function ImportRoute(props: { into: "modules" | "projects"; id: string }) {
  const [loaded, setLoaded] = useState<ImportModule | null>(null);
  const [failed, setFailed] = useState<unknown>(null);
  useEffect(() => { import("./pages/imports").then(setLoaded, setFailed); }, []);
  if (failed) return <main id="main"><ErrorNote error={failed} /></main>;
  if (!loaded) return <main id="main"><Loading /></main>;
  return <loaded.ImportPage into={props.into} id={props.id} />;
}

function NotFound() {
  return (
    <main id="main">
      <PageTitle title={t("notFound.title")} />
      <p>{t("notFound.text")}</p>
      <p><Link to="/">{t("nav.dashboard")}</Link></p>
    </main>
  );
}

function page(path: string, onLanguage: () => void) {
  let params: Record<string, string> | null;
  if (path === "/") return <DashboardPage />;
  if (path === "/projects") return <ProjectsPage />;
  if ((params = match("/projects/:id", path))) return <ProjectPage id={params.id} />;
  if ((params = match("/projects/:id/reports", path))) return <ProjectReportsPage id={params.id} />;
  if ((params = match("/projects/:id/settings", path))) return <ProjectSettingsPage id={params.id} />;
  if ((params = match("/projects/:id/keys", path))) return <ProjectKeysPage id={params.id} />;
  if ((params = match("/projects/:id/import", path))) return <ImportRoute key={params.id} into="projects" id={params.id} />;
  if ((params = match("/projects/:id/debugtalk", path))) return <DebugtalkPage key={params.id} id={params.id} />;
  if ((params = match("/modules/:id", path))) return <ModulePage id={params.id} />;
  if ((params = match("/modules/:id/import", path))) return <ImportRoute key={params.id} into="modules" id={params.id} />;
  if ((params = match("/modules/:id/new", path))) return <TestcasePage key="new" id={null} moduleId={params.id} />;
  if ((params = match("/testcases/:id", path))) return <TestcasePage key={params.id} id={params.id} moduleId={null} />;
  if ((params = match("/reports/:id", path))) return <ReportPage id={params.id} />;
  if (path === "/tasks") return <TasksPage />;
  if (path === "/tasks/new") return <TaskEditPage key="new" id={null} />;
  if ((params = match("/tasks/:id", path))) return <TaskEditPage key={params.id} id={params.id} />;
  if (path === "/profile") return <ProfilePage onLanguage={onLanguage} />;
  return <NotFound />;
}

export function App() {
  const location = useLocation();
  const session = useSession();
  const [, setRevision] = useState(0);
  const onLanguage = () => setRevision((n) => n + 1);
  useEffect(() => { void refreshSession(); }, []);
  const isPublic = PUBLIC_PATHS.includes(location.path);
  useEffect(() => {
    if (session.status === "signed-out" && !isPublic) {
      const next = location.path === "/" ? "" : `?next=${encodeURIComponent(location.path)}`;
      navigate(`/signin${next}`, { replace: true });
    }
    if (session.status === "signed-in" && isPublic) navigate("/", { replace: true });
  }, [session.status, location.path]);

  let body;
  if (session.status === "loading") body = <main id="main"><Loading /></main>;
  else if (location.path === "/signin") body = <SignIn next={location.query.get("next")} />;
  else if (location.path === "/register") body = <Register />;
  else if (location.path === "/reset") body = <ResetPassword />;
  else if (session.status === "signed-out") body = <main id="main"><Loading /></main>;
  else body = page(location.path, onLanguage);
  return (
    <div class="shell" key={currentLanguage()}>
      <Header path={location.path} onLanguage={onLanguage} />
      {body}
    </div>
  );
}
