// Sign in, register (with a code by email or SMS) and password reset.
import { useEffect, useState } from "preact/hooks";
import { api, ApiError } from "../api";
import { ErrorNote, Field, fieldErrors, type FormEvent, Link, PageTitle } from "../components";
import { t } from "../i18n";
import { navigate } from "../router";
import { signedIn } from "../session";

function safeNext(next: string | null): string {
  // Only a path inside the console: never an absolute URL to elsewhere.
  return next && next.startsWith("/") && !next.startsWith("//") ? next : "/";
}

export function SignIn(props: { next: string | null }) {
  const [account, setAccount] = useState("");
  const [password, setPassword] = useState("");
  const [remember, setRemember] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const fields = fieldErrors(error);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const session = await api.login(account, password, remember);
      signedIn(session.user);
      navigate(safeNext(props.next), { replace: true });
    } catch (failure) {
      setError(failure);
    } finally {
      setBusy(false);
    }
  }

  return (
    <main class="auth-card" id="main">
      <PageTitle title={t("signin.title")} />
      <form onSubmit={submit} noValidate>
        <Field label={t("signin.account")} name="account" value={account} onInput={setAccount}
          autocomplete="username" required error={fields.account} />
        <Field label={t("signin.password")} name="password" type="password" value={password}
          onInput={setPassword} autocomplete="current-password" required error={fields.password} />
        <div class="check">
          <input id="remember" type="checkbox" checked={remember}
            onChange={(event) => setRemember((event.target as HTMLInputElement).checked)} />
          <label for="remember">{t("signin.remember")}</label>
        </div>
        {error && !Object.keys(fields).length ? <ErrorNote error={error} /> : null}
        <button type="submit" class="primary" disabled={busy}>{busy ? t("state.working") : t("signin.submit")}</button>
      </form>
      <p class="links">
        <Link to="/register">{t("signin.register")}</Link> · <Link to="/reset">{t("signin.forgot")}</Link>
      </p>
    </main>
  );
}

/** "Send code" with the server's Retry-After (or resend_after) counted down on the button. */
function useCountdown(): [number, (seconds: number) => void] {
  const [left, setLeft] = useState(0);
  useEffect(() => {
    if (left <= 0) return;
    const timer = window.setTimeout(() => setLeft(left - 1), 1000);
    return () => window.clearTimeout(timer);
  }, [left]);
  return [left, setLeft];
}

function SendCode(props: {
  channel: "email" | "sms"; destination: string; purpose: "register" | "reset";
  onError: (error: unknown) => void; onSent: () => void;
}) {
  const [left, start] = useCountdown();
  const [busy, setBusy] = useState(false);
  async function send() {
    setBusy(true);
    props.onError(null);
    try {
      const answer = await api.sendCode(props.channel, props.destination, props.purpose);
      start(answer.resend_after);
      props.onSent();
    } catch (failure) {
      if (failure instanceof ApiError && failure.retryAfter) start(failure.retryAfter);
      props.onError(failure);
    } finally {
      setBusy(false);
    }
  }
  return (
    <button type="button" class="send-code" onClick={send} disabled={busy || left > 0 || !props.destination}>
      {left > 0 ? t("register.resendIn", { seconds: left }) : t("register.sendCode")}
    </button>
  );
}

export function Register() {
  const [form, setForm] = useState({ username: "", email: "", mobile: "", password: "", code: "" });
  const [channel, setChannel] = useState<"email" | "sms">("email");
  const [error, setError] = useState<unknown>(null);
  const [codeError, setCodeError] = useState<unknown>(null);
  const [sent, setSent] = useState(false);
  const [busy, setBusy] = useState(false);
  const fields = { ...fieldErrors(codeError), ...fieldErrors(error) };
  const update = (name: keyof typeof form) => (value: string) => setForm({ ...form, [name]: value });

  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await api.register({ ...form, mobile: form.mobile || undefined });
      navigate("/signin?registered=1", { replace: true });
    } catch (failure) {
      setError(failure);
    } finally {
      setBusy(false);
    }
  }

  return (
    <main class="auth-card" id="main">
      <PageTitle title={t("register.title")} />
      <form onSubmit={submit} noValidate>
        <Field label={t("register.username")} name="username" value={form.username} onInput={update("username")}
          autocomplete="username" required error={fields.username} hint={t("register.usernameHint")} />
        <Field label={t("register.email")} name="email" type="email" value={form.email} onInput={update("email")}
          autocomplete="email" required error={fields.email ?? (channel === "email" ? fields.destination : undefined)} />
        <Field label={t("register.mobile")} name="mobile" type="tel" value={form.mobile} onInput={update("mobile")}
          autocomplete="tel" placeholder="+8613800138000" error={fields.mobile ?? (channel === "sms" ? fields.destination : undefined)} />
        <Field label={t("register.password")} name="password" type="password" value={form.password}
          onInput={update("password")} autocomplete="new-password" required error={fields.password}
          hint={t("register.passwordHint")} />
        <fieldset class="channel">
          <legend>{t("register.channel")}</legend>
          <input type="radio" id="channel-email" name="channel" checked={channel === "email"} onChange={() => setChannel("email")} />
          <label for="channel-email">{t("register.byEmail")}</label>
          <input type="radio" id="channel-sms" name="channel" checked={channel === "sms"} onChange={() => setChannel("sms")} />
          <label for="channel-sms">{t("register.bySms")}</label>
        </fieldset>
        <Field label={t("register.code")} name="code" value={form.code} onInput={update("code")}
          autocomplete="one-time-code" required error={fields.code}>
          <SendCode channel={channel} destination={channel === "email" ? form.email : form.mobile} purpose="register"
            onError={setCodeError} onSent={() => setSent(true)} />
        </Field>
        {sent && <p class="hint" role="status">{t("register.codeSent")}</p>}
        {codeError && !Object.keys(fieldErrors(codeError)).length ? <ErrorNote error={codeError} /> : null}
        {error && !Object.keys(fieldErrors(error)).length ? <ErrorNote error={error} /> : null}
        <button type="submit" class="primary" disabled={busy}>{busy ? t("state.working") : t("register.submit")}</button>
      </form>
      <p class="links"><Link to="/signin">{t("register.haveAccount")}</Link></p>
    </main>
  );
}

export function ResetPassword() {
  const [account, setAccount] = useState("");
  const [channel, setChannel] = useState<"email" | "sms">("email");
  const [code, setCode] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState<unknown>(null);
  const [codeError, setCodeError] = useState<unknown>(null);
  const [done, setDone] = useState(false);
  const fields = { ...fieldErrors(codeError), ...fieldErrors(error) };

  async function submit(event: FormEvent) {
    event.preventDefault();
    setError(null);
    try {
      await api.resetPassword(account, code, password);
      setDone(true);
    } catch (failure) {
      setError(failure);
    }
  }

  return (
    <main class="auth-card" id="main">
      <PageTitle title={t("reset.title")} />
      {done ? (
        <p role="status">{t("reset.done")} <Link to="/signin">{t("signin.submit")}</Link></p>
      ) : (
        <form onSubmit={submit} noValidate>
          <Field label={t("reset.account")} name="account" value={account} onInput={setAccount}
            autocomplete="username" required error={fields.account ?? fields.destination} hint={t("reset.accountHint")} />
          <fieldset class="channel">
            <legend>{t("register.channel")}</legend>
            <input type="radio" id="reset-email" name="channel" checked={channel === "email"} onChange={() => setChannel("email")} />
            <label for="reset-email">{t("register.byEmail")}</label>
            <input type="radio" id="reset-sms" name="channel" checked={channel === "sms"} onChange={() => setChannel("sms")} />
            <label for="reset-sms">{t("register.bySms")}</label>
          </fieldset>
          <Field label={t("register.code")} name="code" value={code} onInput={setCode} required error={fields.code}>
            <SendCode channel={channel} destination={account} purpose="reset" onError={setCodeError} onSent={() => undefined} />
          </Field>
          <Field label={t("reset.newPassword")} name="new_password" type="password" value={password}
            onInput={setPassword} autocomplete="new-password" required error={fields.new_password} />
          {codeError && !Object.keys(fieldErrors(codeError)).length ? <ErrorNote error={codeError} /> : null}
          {error && !Object.keys(fieldErrors(error)).length ? <ErrorNote error={error} /> : null}
          <button type="submit" class="primary">{t("reset.submit")}</button>
        </form>
      )}
      <p class="links"><Link to="/signin">{t("register.haveAccount")}</Link></p>
    </main>
  );
}
