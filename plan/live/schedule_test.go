package live

import (
	"testing"
	"time"
)

func TestDebouncer(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	sec := func(n float64) time.Time { return t0.Add(time.Duration(n * float64(time.Second))) }
	tests := []struct {
		name    string
		changes []float64 // seconds after t0
		want    float64   // due, seconds after t0; -1 for none
	}{
		{"no change", nil, -1},
		{"one change waits the quiet period", []float64{0}, 2},
		{"a later change pushes the due time", []float64{0, 1.5}, 3.5},
		{"a steady stream is reconciled after max wait", []float64{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9.5}, 10},
		{"a change just before max wait", []float64{0, 9}, 10},
		{"changes reported out of order", []float64{1, 0.5, 0}, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := debouncer{quiet: 2 * time.Second, maxWait: 10 * time.Second}
			for _, c := range tt.changes {
				d.changed(sec(c))
			}
			due, ok := d.due()
			if tt.want < 0 {
				if ok || d.pending() {
					t.Fatalf("due() = %v, true; want nothing pending", due)
				}
				return
			}
			if !ok || !d.pending() {
				t.Fatal("nothing pending")
			}
			if !due.Equal(sec(tt.want)) {
				t.Errorf("due = %v after t0, want %vs", due.Sub(t0), tt.want)
			}
		})
	}
}

func TestDebouncerTakenStartsAfresh(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	d := debouncer{quiet: time.Second, maxWait: 5 * time.Second}
	d.changed(t0)
	d.changed(t0.Add(4 * time.Second))
	d.taken()
	if d.pending() {
		t.Fatal("pending after taken")
	}
	d.changed(t0.Add(20 * time.Second))
	due, _ := d.due()
	if want := t0.Add(21 * time.Second); !due.Equal(want) {
		t.Errorf("due = %v, want %v: the max wait must count from the first change after taken", due, want)
	}
}

func TestBackoff(t *testing.T) {
	base, limit := 10*time.Second, time.Minute
	for n, want := range []time.Duration{10 * time.Second, 20 * time.Second, 40 * time.Second, time.Minute, time.Minute} {
		if got := backoff(n, base, limit); got != want {
			t.Errorf("backoff(%d) = %v, want %v", n, got, want)
		}
	}
	if got := backoff(1000, base, limit); got != limit {
		t.Errorf("backoff(1000) = %v, want the cap", got)
	}
}
