package scoreboard

import "strconv"

// Stage is where a request is in its life, php-fpm's enum
// fpm_request_stage_e with the same order and numbers. The status page
// shows it as the slot's "state": String gives php-fpm's wording.
type Stage uint32

const (
	// Creating: the slot is taken, its worker has not reported yet.
	Creating Stage = iota
	// Accepting: waiting for a connection, in accept(2). php-fpm counts a
	// worker in this stage as idle.
	Accepting
	// ReadingHeaders: a connection came; the FastCGI records of the
	// request are being read. The request's clock starts here.
	ReadingHeaders
	// Info: the request's parameters are known (method, URI, script):
	// the point where Begin records them.
	Info
	// Executing: the script runs. request_slowlog_timeout watches this
	// stage; request_terminate_timeout every stage from ReadingHeaders to
	// this one.
	Executing
	// Ending: the response has been sent to the web server (End).
	Ending
	// Finishing: the worker cleans up after the request.
	Finishing
)

var stages = [...]struct{ state, enum string }{
	Creating:       {"Creating", "FPM_REQUEST_CREATING"},
	Accepting:      {"Idle", "FPM_REQUEST_ACCEPTING"},
	ReadingHeaders: {"Reading headers", "FPM_REQUEST_READING_HEADERS"},
	Info:           {"Getting request information", "FPM_REQUEST_INFO"},
	Executing:      {"Running", "FPM_REQUEST_EXECUTING"},
	Ending:         {"Ending", "FPM_REQUEST_END"},
	Finishing:      {"Finishing", "FPM_REQUEST_FINISHED"},
}

// String is the state as php-fpm's status page words it: "Idle",
// "Running", ...
func (s Stage) String() string {
	if int(s) < len(stages) {
		return stages[s].state
	}
	return "Stage(" + strconv.Itoa(int(s)) + ")"
}

// Enum is the stage's name in php-fpm's source, FPM_REQUEST_EXECUTING
// for Executing: the name to look for when reading fpm_request.c.
func (s Stage) Enum() string {
	if int(s) < len(stages) {
		return stages[s].enum
	}
	return "Stage(" + strconv.Itoa(int(s)) + ")"
}

// Busy says whether a request is in hand: php-fpm's active, as opposed to
// idle (Accepting) or not yet started (Creating).
func (s Stage) Busy() bool { return s > Accepting }
