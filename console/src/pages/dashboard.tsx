// Totals, 12 days of pass/fail (stacked bars, pass rate as a line) and the latest reports.
import { api, type Day, type ReportSummary } from "../api";
import { Empty, enumText, ErrorNote, Link, Loading, PageTitle, StatusBadge, useLoad } from "../components";
import { formatDuration, formatTime, t } from "../i18n";
import { useSession } from "../session";

const WIDTH = 640;
const HEIGHT = 240;
const PAD = { left: 36, right: 40, top: 12, bottom: 28 };

export function PassFailChart(props: { days: Day[] }) {
  const days = props.days;
  // An even top, so the middle grid line is a whole number of runs too.
  const most = Math.max(2, Math.ceil(Math.max(...days.map((day) => day.pass + day.fail)) / 2) * 2);
  const plotWidth = WIDTH - PAD.left - PAD.right;
  const plotHeight = HEIGHT - PAD.top - PAD.bottom;
  const slot = plotWidth / Math.max(days.length, 1);
  const barWidth = Math.min(28, slot * 0.6);
  const y = (count: number) => PAD.top + plotHeight - (count / most) * plotHeight;
  const percentY = (percent: number) => PAD.top + plotHeight - (percent / 100) * plotHeight;
  const centre = (index: number) => PAD.left + slot * index + slot / 2;
  const ran = days.map((day, index) => ({ day, index })).filter(({ day }) => day.pass + day.fail > 0);
  const line = ran.map(({ day, index }) => `${centre(index).toFixed(1)},${percentY(day.percent).toFixed(1)}`).join(" ");
  return (
    <figure class="chart">
      <svg viewBox={`0 0 ${WIDTH} ${HEIGHT}`} role="img" aria-labelledby="chart-title">
        <title id="chart-title">{t("dashboard.chartTitle")}</title>
        {[0, 0.5, 1].map((share) => (
          <g key={share}>
            <line class="grid" x1={PAD.left} x2={WIDTH - PAD.right} y1={y(most * share)} y2={y(most * share)} />
            <text class="axis" x={PAD.left - 6} y={y(most * share) + 4} text-anchor="end">{Math.round(most * share)}</text>
            <text class="axis" x={WIDTH - PAD.right + 6} y={percentY(share * 100) + 4}>{share * 100}%</text>
          </g>
        ))}
        {days.map((day, index) => (
          <g key={day.date} class="day" data-date={day.date} data-pass={day.pass} data-fail={day.fail}>
            <title>{t("dashboard.dayTip", { date: day.date, pass: day.pass, fail: day.fail, percent: day.percent })}</title>
            <rect class="pass" x={centre(index) - barWidth / 2} width={barWidth} y={y(day.pass)} height={y(0) - y(day.pass)} />
            <rect class="fail" x={centre(index) - barWidth / 2} width={barWidth} y={y(day.pass + day.fail)}
              height={y(day.pass) - y(day.pass + day.fail)} />
            <text class="axis" x={centre(index)} y={HEIGHT - 10} text-anchor="middle">{day.date.slice(5)}</text>
          </g>
        ))}
        {line && <polyline class="rate" points={line} />}
        {ran.map(({ day, index }) => <circle key={day.date} class="rate-point" cx={centre(index)} cy={percentY(day.percent)} r={3.5} />)}
      </svg>
      <figcaption>
        <span class="key pass">{t("dashboard.pass")}</span>
        <span class="key fail">{t("dashboard.fail")}</span>
        <span class="key rate">{t("dashboard.rate")}</span>
      </figcaption>
    </figure>
  );
}

async function latestReports(): Promise<ReportSummary[]> {
  // No cross-project report list in the API: the newest few of the first projects.
  const projects = await api.projects({ limit: 5 });
  const pages = await Promise.all(projects.items.map((project) => api.reports(project.id, { limit: 5 })));
  return pages.flatMap((page) => page.items)
    .sort((a, b) => b.created_at.localeCompare(a.created_at)).slice(0, 8);
}

/** Who or what started a run: you, another member, a task (linked) or CI. */
function StartedBy(props: { report: ReportSummary }) {
  const session = useSession();
  const report = props.report;
  const me = session.status === "signed-in" ? session.user.id : null;
  if (report.task_id) return <Link to={`/tasks/${report.task_id}`}>{enumText("trigger", report.trigger)}</Link>;
  if (report.trigger === "manual") {
    return <>{report.started_by && report.started_by === me ? t("reports.byYou") : t("reports.byMember")}</>;
  }
  const origin = report.origin?.provider ? ` · ${report.origin.provider}` : "";
  return <>{enumText("trigger", report.trigger)}{origin}</>;
}

export function ReportTable(props: { reports: ReportSummary[] }) {
  return (
    <div class="table-wrap">
      <table>
        <thead><tr>
          <th scope="col">{t("reports.name")}</th><th scope="col">{t("reports.status")}</th>
          <th scope="col">{t("reports.trigger")}</th><th scope="col">{t("reports.counts")}</th>
          <th scope="col">{t("reports.duration")}</th><th scope="col">{t("reports.created")}</th>
        </tr></thead>
        <tbody>
          {props.reports.map((report) => (
            <tr key={report.id}>
              <td><Link to={`/reports/${report.id}`}>{report.name || report.id}</Link></td>
              <td><StatusBadge status={report.status} /></td>
              <td><StartedBy report={report} /></td>
              <td>{t("reports.countsValue", { run: report.tests_run, ok: report.successes, failed: report.failures })}</td>
              <td>{formatDuration(report.duration_ms)}</td>
              <td>{formatTime(report.created_at)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

export function DashboardPage() {
  const board = useLoad(() => api.dashboard(), []);
  const reports = useLoad(latestReports, []);
  return (
    <main id="main">
      <PageTitle title={t("dashboard.title")} />
      {board.loading && <Loading />}
      <ErrorNote error={board.error} onRetry={board.reload} />
      {board.data && (
        <>
          <section class="totals" aria-label={t("dashboard.totals")}>
            <Link to="/projects" class="total"><strong>{board.data.projects}</strong><span>{t("dashboard.projects")}</span></Link>
            <div class="total"><strong>{board.data.modules}</strong><span>{t("dashboard.modules")}</span></div>
            <div class="total"><strong>{board.data.testcases}</strong><span>{t("dashboard.testcases")}</span></div>
          </section>
          <section>
            <h2>{t("dashboard.days", { timezone: board.data.timezone })}</h2>
            <PassFailChart days={board.data.days} />
          </section>
        </>
      )}
      <section>
        <h2>{t("dashboard.latest")}</h2>
        {reports.loading && <Loading />}
        <ErrorNote error={reports.error} onRetry={reports.reload} />
        {reports.data && (reports.data.length ? <ReportTable reports={reports.data} /> : <Empty text={t("dashboard.noReports")} />)}
      </section>
    </main>
  );
}
