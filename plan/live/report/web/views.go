package web

import (
	"fmt"
	"html/template"
	"net/http"
	"sort"
	"time"

	"github.com/confsync/confsync/plan"
	"github.com/confsync/confsync/plan/live/report"
)

// runScan is how many of the newest runs the page reads: the recent and
// refused lists, the changes plot and the run pages come from them.
const runScan = 500

// recentRuns is how many runs the overview lists.
const recentRuns = 20

var funcs = template.FuncMap{
	"stamp": func(t time.Time) string {
		if t.IsZero() {
			return "never"
		}
		return t.UTC().Format("2006-01-02 15:04:05 UTC")
	},
	"iso": func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
}

// overviewData is the overview's view model.
type overviewData struct {
	Title     string
	Generated time.Time
	Refresh   int
	IdPs      []idpRow
	Lock      *report.LockStatus
	// Serve is this replica's live state; its AutoApply is false when
	// auto_apply is off.
	Serve   *report.ServeStatus
	Pending []pendingRow
	Recent  []report.Run
	Refused []report.Run
	Plots   []plot
}

// idpRow is one IdP as the page shows it. Every per-IdP value of the
// status report goes through idpRows, so that new fields of
// report.IDPStatus need only a Fact here (and nothing in the template).
type idpRow struct {
	Name   string
	Kind   string
	Health string
	// OK says whether the IdP looks healthy (styles Health).
	OK bool
	// LastRead is the last complete read that reached Confluence.
	LastRead string
	Facts    []fact
}

// fact is one labelled value of an IdP.
type fact struct{ Label, Value string }

type pendingRow struct {
	IdP     string
	Changes int64
}

// idpRows is the one view-model function of the per-IdP state: what
// report.Collect computed, and the replica's pending changes.
func idpRows(s *report.Status, serve *report.ServeStatus) []idpRow {
	rows := make([]idpRow, 0, len(s.IdPs))
	for _, p := range s.IdPs {
		r := idpRow{Name: p.Name, Kind: p.Kind, LastRead: "never"}
		if p.LastRead != nil {
			r.LastRead = fmt.Sprintf("%d users, %d groups at %s", p.LastRead.Users, p.LastRead.Groups, p.LastRead.At.UTC().Format("2006-01-02 15:04:05 UTC"))
		}
		// The source health the last plan recorded decides; before any
		// plan read the IdP, a complete read on record is the best sign.
		switch h := p.Health; {
		case h != nil && h.Healthy:
			r.Health, r.OK = "healthy", true
		case h != nil:
			r.Health = "unhealthy: left out of the last plan"
		case p.LastRead != nil:
			r.Health, r.OK = "ok", true
		default:
			r.Health = "no complete read yet"
		}
		if h := p.Health; h != nil {
			r.Facts = append(r.Facts, fact{"left out", fmt.Sprint(h.LeftOut)})
			if f := h.LastFailure; f != nil {
				r.Facts = append(r.Facts, fact{"last failure", f.At.UTC().Format("2006-01-02 15:04:05 UTC") + ": " + f.Cause})
			}
		}
		if p.Users != nil {
			r.Facts = append(r.Facts, fact{"users pushed", fmt.Sprint(*p.Users)})
		}
		if p.Groups != nil {
			r.Facts = append(r.Facts, fact{"groups pushed", fmt.Sprint(*p.Groups)})
		}
		if p.Revision != nil {
			r.Facts = append(r.Facts, fact{"revision", fmt.Sprint(*p.Revision)})
		}
		if serve != nil && serve.AutoApply {
			r.Facts = append(r.Facts, fact{"pending changes", fmt.Sprint(serve.Pending[p.Name])})
		}
		rows = append(rows, r)
	}
	return rows
}

func pendingRows(serve *report.ServeStatus) []pendingRow {
	var rows []pendingRow
	for idp, n := range serve.Pending {
		if n > 0 {
			rows = append(rows, pendingRow{IdP: idp, Changes: n})
		}
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].IdP < rows[j].IdP })
	return rows
}

func (p *page) overview(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	now := p.o.Now()
	s, err := report.Collect(ctx, p.o.Config, p.o.Store, now)
	if err != nil {
		return err
	}
	runs, err := p.o.Store.Runs(ctx, runScan)
	if err != nil {
		return fmt.Errorf("read the audit log: %w", err)
	}
	since := now.Add(-plotSpan)
	reqs, err := p.o.Store.RequestsPerMinute(ctx, since)
	if err != nil {
		return fmt.Errorf("read the SCIM request counts: %w", err)
	}
	hist := report.NewHistory(runs).Runs
	serve := report.NewServeStatus(p.o.Reconciler)
	d := overviewData{
		Title: "confsync", Generated: now.UTC(), Refresh: p.refresh(r),
		IdPs: idpRows(s, serve), Lock: s.Lock, Serve: serve, Pending: pendingRows(serve),
		Recent: hist[:min(len(hist), recentRuns)],
		Plots: []plot{
			newPlot("Changes applied per minute", "changes", appliedPerMinute(runs, since), now),
			newPlot("SCIM requests per minute", "requests", reqs, now),
		},
	}
	for _, run := range hist {
		if run.Outcome == plan.OutcomeRefused && len(d.Refused) < recentRuns {
			d.Refused = append(d.Refused, run)
		}
	}
	return p.render(w, "overview.html", d)
}

type runData struct {
	Title string
	Run   report.Run
}

func (p *page) run(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	runs, err := p.o.Store.Runs(r.Context(), runScan)
	if err != nil {
		return fmt.Errorf("read the audit log: %w", err)
	}
	for _, run := range report.NewHistory(runs).Runs {
		if run.ID == id {
			return p.render(w, "run.html", runData{Title: "Run " + run.ID, Run: run})
		}
	}
	return &httpError{code: http.StatusNotFound,
		msg: fmt.Sprintf("No run with this id among the last %d runs; `confsync history` lists them all.", runScan)}
}

type errorData struct {
	Title   string
	Message string
}
