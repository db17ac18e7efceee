package config

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Every problem, with the message and the line it is reported at. Each conf
// is parsed as fpm.conf; the expected error is every line of it.
func TestErrors(t *testing.T) {
	const pool = "[www]\nlisten = 9000\npm = static\npm.max_children = 1\n" // lines 1-4
	for _, tt := range []struct {
		name, conf string
		want       []string
	}{
		// Syntax.
		{"unknown entry", pool + "pm.max_chilren = 5\n",
			[]string{"fpm.conf:5: unknown entry 'pm.max_chilren'"}},
		{"unknown global entry", "[global]\nlisten = 9000\n" + pool,
			[]string{"fpm.conf:2: unknown entry 'listen'"}},
		{"unknown array", pool + "envv[A] = b\n",
			[]string{"fpm.conf:5: unknown directive 'envv'"}},
		{"no equals", pool + "pm.max_children 5\n",
			[]string{"fpm.conf:5: syntax error: 'pm.max_children 5' is neither 'name = value' nor '[section]'"}},
		{"unclosed section", "[www\nlisten = 9000\npm = static\npm.max_children = 1\n",
			[]string{"fpm.conf:1: syntax error: '[www' has no closing ']'"}},
		{"text after section", "[www] x\nlisten = 9000\npm = static\npm.max_children = 1\n",
			[]string{"fpm.conf:1: syntax error: unexpected 'x' after the section name"}},
		{"empty section", "[ ]\nlisten = 9000\n" + pool,
			[]string{"fpm.conf:1: invalid section name '[ ]'"}},
		{"bad entry name", pool + "pm max = 5\n",
			[]string{"fpm.conf:5: syntax error in entry name 'pm max'"}},
		{"unclosed quote", pool + "access.format = \"%R\n",
			[]string{"fpm.conf:5: syntax error: the quoted value has no closing '\"'"}},
		{"unclosed single quote", pool + "access.format = '%R\n",
			[]string{"fpm.conf:5: syntax error: the quoted value has no closing \"'\""}},
		{"text after quote", pool + "access.format = \"%R\" %s\n",
			[]string{"fpm.conf:5: syntax error: unexpected '%s' after the quoted value"}},
		{"array in global", "env[A] = b\n" + pool,
			[]string{"fpm.conf:1: arrays are not allowed in the global section"}},
		{"array without key", pool + "env[] = b\n",
			[]string{"fpm.conf:5: misspelled array? 'env[]' has no key"}},
		{"empty env", pool + "env[A] =\n",
			[]string{"fpm.conf:5: empty value for 'env[A]'"}},
		{"$pool in global", "error_log = /var/log/$pool.log\n" + pool,
			[]string{"fpm.conf:1: can't use '$pool' when the pool is not defined"}},

		// Values.
		{"not a number", pool + "pm.max_requests = lots\n",
			[]string{"fpm.conf:5: unable to parse value for entry 'pm.max_requests': 'lots' is not a valid number (greater or equal than zero)"}},
		{"negative", pool + "listen.backlog = -1\n",
			[]string{"fpm.conf:5: unable to parse value for entry 'listen.backlog': '-1' is not a valid number (greater or equal than zero)"}},
		{"too big", pool + "pm.max_requests = 4294967296\n",
			[]string{"fpm.conf:5: unable to parse value for entry 'pm.max_requests': '4294967296' is not a valid number (greater or equal than zero)"}},
		{"bad time suffix", pool + "request_terminate_timeout = 30x\n",
			[]string{"fpm.conf:5: unable to parse value for entry 'request_terminate_timeout': unknown suffix used in time value '30x' (s, m, h or d)"}},
		{"bad time", pool + "request_terminate_timeout = -5s\n",
			[]string{"fpm.conf:5: unable to parse value for entry 'request_terminate_timeout': invalid time value '-5s'"}},
		{"empty time", "process_control_timeout =\n" + pool,
			[]string{"fpm.conf:1: unable to parse value for entry 'process_control_timeout': invalid time value ''"}},
		{"time too long", "process_control_timeout = 99999999d\n" + pool,
			[]string{"fpm.conf:1: unable to parse value for entry 'process_control_timeout': invalid time value '99999999d'"}},
		{"bad boolean", "daemonize = maybe\n" + pool,
			[]string{"fpm.conf:1: unable to parse value for entry 'daemonize': invalid boolean value 'maybe' (yes or no)"}},
		{"bad log level", "log_level = verbose\n" + pool,
			[]string{"fpm.conf:1: unable to parse value for entry 'log_level': invalid value 'verbose' for 'log_level' (alert, error, warning, notice or debug)"}},
		{"bad pm", "[www]\nlisten = 9000\npm = elastic\npm.max_children = 1\n",
			[]string{"fpm.conf:3: unable to parse value for entry 'pm': invalid process manager 'elastic' (static, dynamic or ondemand)"}},
		{"bad worker model", pool + "worker.model = fibers\n",
			[]string{"fpm.conf:5: unable to parse value for entry 'worker.model': invalid worker model 'fibers' (blocking or coroutine)"}},
		{"bad port", "[www]\nlisten = 127.0.0.1:99999\npm = static\npm.max_children = 1\n",
			[]string{"fpm.conf:2: unable to parse value for entry 'listen': invalid port value '99999'"}},
		{"port zero", "[www]\nlisten = 0\npm = static\npm.max_children = 1\n",
			[]string{"fpm.conf:2: unable to parse value for entry 'listen': invalid port value '0'"}},
		{"missing port", "[www]\nlisten = 127.0.0.1:\npm = static\npm.max_children = 1\n",
			[]string{"fpm.conf:2: unable to parse value for entry 'listen': invalid port value ''"}},
		{"host name", "[www]\nlisten = example.com:9000\npm = static\npm.max_children = 1\n",
			[]string{"fpm.conf:2: unable to parse value for entry 'listen': 'example.com' is not an IP address (corofpm resolves no host names but localhost)"}},
		{"bad mode", pool + "listen.mode = 0680\n",
			[]string{"fpm.conf:5: unable to parse value for entry 'listen.mode': invalid mode '0680' (octal permissions such as 0660)"}},
		{"mode too big", pool + "listen.mode = 4755\n",
			[]string{"fpm.conf:5: unable to parse value for entry 'listen.mode': invalid mode '4755' (octal permissions such as 0660)"}},
		{"bad clients", pool + "listen.allowed_clients = 127.0.0.1, localhost,10.0.0.300\n",
			[]string{"fpm.conf:5: unable to parse value for entry 'listen.allowed_clients': wrong IP address 'localhost', '10.0.0.300' in listen.allowed_clients"}},

		// A pool's settings together.
		{"no listen", "[www]\npm = static\npm.max_children = 1\n",
			[]string{"fpm.conf:1: [www] no listen address has been defined"}},
		{"empty listen", "[www]\nlisten =\npm = static\npm.max_children = 1\n",
			[]string{"fpm.conf:2: [www] no listen address has been defined"}},
		{"no pm", "[www]\nlisten = 9000\npm.max_children = 1\n",
			[]string{"fpm.conf:1: [www] the process manager is missing (static, dynamic or ondemand)"}},
		{"no max_children", "[www]\nlisten = 9000\npm = static\n",
			[]string{"fpm.conf:1: [www] pm.max_children must be a positive value"}},
		{"zero max_children", "[www]\nlisten = 9000\npm = static\npm.max_children = 0\n",
			[]string{"fpm.conf:4: [www] pm.max_children must be a positive value"}},
		{"no spares", "[www]\nlisten = 9000\npm = dynamic\npm.max_children = 4\n", []string{
			"fpm.conf:1: [www] pm.min_spare_servers(0) must be a positive value",
			"fpm.conf:1: [www] pm.max_spare_servers(0) must be a positive value",
		}},
		{"spares over max_children", "[www]\nlisten = 9000\npm = dynamic\npm.max_children = 4\npm.min_spare_servers = 5\npm.max_spare_servers = 6\n",
			[]string{"fpm.conf:5: [www] pm.min_spare_servers(5) and pm.max_spare_servers(6) cannot be greater than pm.max_children(4)"}},
		{"max spare over max_children", "[www]\nlisten = 9000\npm = dynamic\npm.max_children = 4\npm.min_spare_servers = 1\npm.max_spare_servers = 6\n",
			[]string{"fpm.conf:6: [www] pm.min_spare_servers(1) and pm.max_spare_servers(6) cannot be greater than pm.max_children(4)"}},
		{"max spare under min spare", "[www]\nlisten = 9000\npm = dynamic\npm.max_children = 4\npm.min_spare_servers = 3\npm.max_spare_servers = 2\n",
			[]string{"fpm.conf:6: [www] pm.max_spare_servers(2) must not be less than pm.min_spare_servers(3)"}},
		{"start servers out of bounds", "[www]\nlisten = 9000\npm = dynamic\npm.max_children = 4\npm.min_spare_servers = 1\npm.max_spare_servers = 2\npm.start_servers = 3\n",
			[]string{"fpm.conf:7: [www] pm.start_servers(3) must not be less than pm.min_spare_servers(1) and not greater than pm.max_spare_servers(2)"}},
		{"spawn rate", "[www]\nlisten = 9000\npm = dynamic\npm.max_children = 4\npm.min_spare_servers = 1\npm.max_spare_servers = 2\npm.max_spawn_rate = 0\n",
			[]string{"fpm.conf:7: [www] pm.max_spawn_rate must be a positive value"}},
		{"bad value not checked again", "[www]\nlisten = 9000\npm = dynamic\npm.max_children = four\npm.min_spare_servers = 1\npm.max_spare_servers = 2\n",
			[]string{"fpm.conf:4: unable to parse value for entry 'pm.max_children': 'four' is not a valid number (greater or equal than zero)"}},
		{"idle timeout", "[www]\nlisten = 9000\npm = ondemand\npm.max_children = 4\npm.process_idle_timeout = 0\n",
			[]string{"fpm.conf:5: [www] pm.process_idle_timeout(0s) must be greater than 0s"}},
		{"status path slash", pool + "pm.status_path = status\n",
			[]string{"fpm.conf:5: [www] the status path 'status' must start with a '/'"}},
		{"status path short", pool + "pm.status_path = /\n",
			[]string{"fpm.conf:5: [www] the status path '/' is not long enough"}},
		{"status path chars", pool + "pm.status_path = /status?full\n",
			[]string{"fpm.conf:5: [www] the status path '/status?full' must contain only the following characters '[alphanum]/_-.~'"}},
		{"ping path slash", pool + "ping.path = ping\n",
			[]string{"fpm.conf:5: [www] the ping path 'ping' must start with a '/'"}},
		{"ping path short", pool + "ping.path = /\n",
			[]string{"fpm.conf:5: [www] the ping path '/' is not long enough"}},
		{"ping path chars", pool + "ping.path = /ping me\n",
			[]string{"fpm.conf:5: [www] the ping path '/ping me' must contain only the following characters '[alphanum]/_-.~'"}},
		{"empty ping response", pool + "ping.path = /ping\nping.response = \"\"\n",
			[]string{"fpm.conf:6: [www] the ping response page '' is not long enough"}},
		{"slowlog missing", pool + "request_slowlog_timeout = 5s\n",
			[]string{"fpm.conf:5: [www] 'slowlog' must be specified for use with 'request_slowlog_timeout'"}},
		{"slowlog over terminate", pool + "slowlog = slow.log\nrequest_slowlog_timeout = 1m\nrequest_terminate_timeout = 30s\n",
			[]string{"fpm.conf:6: [www] 'request_slowlog_timeout' (60s) can't be greater than 'request_terminate_timeout' (30s)"}},
		{"coroutines", pool + "worker.model = coroutine\nworker.coroutines = 0\n",
			[]string{"fpm.conf:6: [www] worker.coroutines must be a positive value"}},

		// Pools together.
		{"no pool", "[global]\npid = fpm.pid\n",
			[]string{"fpm.conf: no pool defined: at least one pool section must be specified in config file"}},
		{"duplicate pool", pool + "[WWW]\nlisten = 9001\n",
			[]string{"fpm.conf:5: [WWW] pool already defined at fpm.conf:1"}},
		{"duplicate listen", pool + "[api]\nlisten = 0.0.0.0:9000\npm = static\npm.max_children = 1\n",
			[]string{"fpm.conf:6: [api] unable to set listen address as it's already used in another pool 'www'"}},

		// Every problem, not only the first.
		{"several", "[global]\nlog_level = loud\n[www]\nlisten = 9000\npm = dynamic\npm.max_children = 2\n" +
			"pm.min_spare_servers = 1\npm.max_spare_servers = 3\npm.max_chlidren = 5\n", []string{
			"fpm.conf:2: unable to parse value for entry 'log_level': invalid value 'loud' for 'log_level' (alert, error, warning, notice or debug)",
			"fpm.conf:9: unknown entry 'pm.max_chlidren'",
			"fpm.conf:8: [www] pm.min_spare_servers(1) and pm.max_spare_servers(3) cannot be greater than pm.max_children(2)",
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := Parse("fpm.conf", []byte(tt.conf))
			require.Error(t, err)
			assert.Nil(t, cfg)
			assert.Equal(t, strings.Join(tt.want, "\n"), err.Error())
			assert.Len(t, Errors(err), len(tt.want))
		})
	}
}

func TestErrorTypes(t *testing.T) {
	_, err := Parse("fpm.conf", []byte("pid = x\n"))
	assert.ErrorIs(t, err, ErrNoPool)

	_, err = Load(filepath.Join(t.TempDir(), "missing.conf"))
	assert.ErrorIs(t, err, fs.ErrNotExist)
	var e *Error
	require.ErrorAs(t, err, &e)
	assert.Equal(t, 0, e.Line)

	_, err = Parse("fpm.conf", []byte("[www]\nlisten = x:y\n"))
	list := Errors(err)
	require.Len(t, list, 3) // listen's port, pm, pm.max_children
	assert.Equal(t, Error{File: "fpm.conf", Line: 1, Pool: "www", Msg: "pm.max_children must be a positive value"}, *list[2])
	assert.Nil(t, Errors(nil))
	assert.Nil(t, Errors(errors.New("other")))
}

// ExampleParse shows the errors an operator sees: every problem, one a line,
// with its file and line.
func ExampleParse() {
	_, err := Parse("fpm.conf", []byte(`[www]
listen = 127.0.0.1:9000
pm = dynamic
pm.max_children = 4
pm.min_spare_servers = 5
pm.max_spare_servers = 6
pm.max_chilren = 8
request_terminate_timeout = 30sec
`))
	fmt.Println(err)
	// Output:
	// fpm.conf:7: unknown entry 'pm.max_chilren'
	// fpm.conf:8: unable to parse value for entry 'request_terminate_timeout': unknown suffix used in time value '30sec' (s, m, h or d)
	// fpm.conf:5: [www] pm.min_spare_servers(5) and pm.max_spare_servers(6) cannot be greater than pm.max_children(4)
}
