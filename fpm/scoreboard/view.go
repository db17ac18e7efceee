package scoreboard

import "time"

// SlotView is a consistent copy of one slot, with php-fpm's status page
// names for its fields.
type SlotView struct {
	// Index is the slot's number on the board.
	Index int
	PID   int
	// Stage is the request's stage; Stage.String is the "state".
	Stage Stage
	// StartTime is when the slot's process took it: for a blocking worker,
	// which holds one slot for life, the process's start.
	StartTime time.Time
	Requests  uint64
	// RequestStart is when the current or last request began.
	RequestStart time.Time
	// RequestDuration is the request's duration once it ended, and until
	// then the time since it began.
	RequestDuration time.Duration
	Method          string
	// URI is the request URI with its query string.
	URI           string
	ContentLength int64
	Script        string
	User          string
	// CPU and Memory are what the request took, once it ended.
	CPU    time.Duration
	Memory uint64
	// Stuck is set when no consistent copy could be had: the writer was
	// in the middle of a write for all of readPatience, most likely dead
	// there, at worst starved of CPU. Only PID is filled in. The master
	// clears a dead worker's slots when it reaps it (Reclaim).
	Stuck bool
}

// Snapshot copies every slot in use. It never makes a worker wait: each
// slot is copied under its seqlock, retried if a write overlapped.
func (b *Board) Snapshot() []SlotView {
	var views []SlotView
	for i, r := range b.slots {
		if r.claim.Load() == 0 {
			continue
		}
		v, ok := r.view(i)
		if !ok {
			views = append(views, SlotView{Index: i, PID: int(r.claim.Load()), Stuck: true})
		} else if v.PID != 0 {
			views = append(views, v)
		}
	}
	return views
}

func (r *slotRecord) view(i int) (v SlotView, ok bool) {
	var query string
	ok = r.seq.read(func() {
		v = SlotView{
			Index:           i,
			PID:             int(r.pid.Load()),
			Stage:           Stage(r.stage.Load()),
			StartTime:       unixTime(r.processStart.Load()),
			Requests:        r.requests.Load(),
			RequestStart:    unixTime(r.requestStart.Load()),
			RequestDuration: time.Duration(r.duration.Load()),
			Method:          loadText(r.method[:]),
			URI:             loadText(r.uri[:]),
			ContentLength:   r.contentLength.Load(),
			Script:          loadText(r.script[:]),
			User:            loadText(r.user[:]),
			CPU:             time.Duration(r.cpu.Load()),
			Memory:          r.memory.Load(),
		}
		query = loadText(r.query[:])
	})
	if query != "" {
		v.URI += "?" + query
	}
	if v.RequestDuration == 0 && v.Requests > 0 {
		v.RequestDuration = time.Since(v.RequestStart)
	}
	return v, ok
}

// unixTime is the time of a record's unix nanoseconds; 0 is "never".
func unixTime(ns int64) time.Time {
	if ns == 0 {
		return time.Time{}
	}
	return time.Unix(0, ns)
}
