package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/google/uuid"

	"github.com/confsync/confsync/plan"
)

// AppendRun adds an apply and its actions to the audit log in one
// transaction. An empty ID is assigned; a zero Started is now.
func (s *Store) AppendRun(ctx context.Context, r plan.Run) error {
	if r.ID == "" {
		r.ID = uuid.NewString()
	}
	err := s.write(ctx, func(t *txn) error {
		if _, err := t.exec(`INSERT INTO audit_runs (id, started, finished, run_trigger, outcome, message, plan_id, kind, confluence_requests)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			r.ID, stamp(r.Started), micros(r.Finished), string(r.Trigger), string(r.Outcome), r.Message, r.PlanID,
			string(r.Kind), r.ConfluenceRequests); err != nil {
			return err
		}
		acts := r.Actions
		for pos := 0; len(acts) > 0; {
			n := min(len(acts), 1000)
			args := make([]any, 0, 7*n)
			for _, a := range acts[:n] {
				change := ""
				if a.Change != nil {
					b, err := json.Marshal(a.Change)
					if err != nil {
						return fmt.Errorf("action %d: %w", pos, err)
					}
					change = string(b)
				}
				args = append(args, r.ID, pos, a.Action, a.Object, a.IDP, a.Error, change)
				pos++
			}
			acts = acts[n:]
			if _, err := t.exec("INSERT INTO audit_actions (run_id, pos, action, object, idp, error, change_json) VALUES "+
				placeholders(n, 7), args...); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("append run: %w", err)
	}
	return nil
}

// Runs lists the last limit applies with their actions, newest first (by
// the order they were appended). A limit of 0 or less lists them all.
func (s *Store) Runs(ctx context.Context, limit int) ([]plan.Run, error) {
	q := "SELECT " + runColumns + " FROM audit_runs ORDER BY seq DESC"
	var args []any
	if limit > 0 {
		q += " LIMIT ?"
		args = append(args, limit)
	}
	rows, err := s.query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("read runs: %w", err)
	}
	var runs []plan.Run
	index := map[string]int{}
	for rows.Next() {
		r, err := scanRun(rows)
		if err != nil {
			rows.Close()
			return nil, fmt.Errorf("read runs: %w", err)
		}
		index[r.ID] = len(runs)
		runs = append(runs, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read runs: %w", err)
	}
	if len(runs) == 0 {
		return nil, nil
	}
	ids := make([]any, 0, len(runs))
	for _, r := range runs {
		ids = append(ids, r.ID)
	}
	for len(ids) > 0 {
		n := min(len(ids), 1000)
		chunk := ids[:n]
		ids = ids[n:]
		rows, err := s.query(ctx, "SELECT run_id, action, object, idp, error, change_json FROM audit_actions WHERE run_id IN ("+
			strings.TrimSuffix(strings.Repeat("?,", n), ",")+") ORDER BY run_id, pos", chunk...)
		if err != nil {
			return nil, fmt.Errorf("read run actions: %w", err)
		}
		for rows.Next() {
			var id string
			var a plan.RunAction
			var change string
			if err := rows.Scan(&id, &a.Action, &a.Object, &a.IDP, &a.Error, &change); err != nil {
				rows.Close()
				return nil, fmt.Errorf("read run actions: %w", err)
			}
			if change != "" {
				a.Change = &plan.Change{}
				if err := json.Unmarshal([]byte(change), a.Change); err != nil {
					rows.Close()
					return nil, fmt.Errorf("read run %s: action %s: %w", id, a.Object, err)
				}
			}
			i := index[id]
			runs[i].Actions = append(runs[i].Actions, a)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("read run actions: %w", err)
		}
	}
	return runs, nil
}

// RunOfPlan returns the newest run that applied the saved plan planID
// (outcome applied or partial), without its actions; nil when none did.
func (s *Store) RunOfPlan(ctx context.Context, planID string) (*plan.Run, error) {
	if planID == "" {
		return nil, nil
	}
	r, err := scanRun(s.queryRow(ctx, `SELECT `+runColumns+` FROM audit_runs
		WHERE plan_id = ? AND outcome IN (?, ?) ORDER BY seq DESC LIMIT 1`, planID, string(plan.OutcomeApplied), string(plan.OutcomePartial)))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("find the run of plan %s: %w", planID, err)
	}
	return &r, nil
}

// runColumns are the columns of audit_runs scanRun reads, in its order.
const runColumns = "id, started, finished, run_trigger, outcome, message, plan_id, kind, confluence_requests"

// scanRun reads a run (without its actions) from a row of runColumns.
func scanRun(row interface{ Scan(...any) error }) (plan.Run, error) {
	var r plan.Run
	var started, finished int64
	var trigger, outcome, kind string
	if err := row.Scan(&r.ID, &started, &finished, &trigger, &outcome, &r.Message, &r.PlanID, &kind, &r.ConfluenceRequests); err != nil {
		return plan.Run{}, err
	}
	r.Trigger, r.Outcome, r.Kind = plan.Trigger(trigger), plan.Outcome(outcome), plan.RunKind(kind)
	r.Started = fromMicros(started)
	if finished != 0 {
		r.Finished = fromMicros(finished)
	}
	return r, nil
}
