package main

import (
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/corofpm/corofpm/tutorial/narrator"
)

// isolation is what /whoami.php's burst found.
type isolation struct {
	// Requests went at once; Answered came back with 200.
	Requests, Answered int
	// Global counts answers whose global held another request's id when
	// the script read it back; Own those whose own request did.
	Global, Own int
}

// checkIsolation sends k requests to /whoami.php at once, request i with
// id=i and a pause on IO, and checks each answer against its id.
func checkIsolation(base string, k int, pause time.Duration) (isolation, error) {
	res := isolation{Requests: k}
	var mu sync.Mutex
	var wg sync.WaitGroup
	var failure error
	client := &http.Client{Timeout: 30 * time.Second}
	for i := range k {
		wg.Go(func() {
			id := strconv.Itoa(i)
			body, err := getOK(client, fmt.Sprintf("%s?id=%s&ms=%d", base, id, pause.Milliseconds()))
			var global, own string
			if err == nil {
				g, o, found := strings.Cut(strings.TrimSpace(body), " ")
				global, own = strings.TrimPrefix(g, "global="), strings.TrimPrefix(o, "own=")
				if !found {
					err = fmt.Errorf("/whoami.php?id=%s: %q", id, body)
				}
			}
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				failure = err
				return
			}
			res.Answered++
			if global != id {
				res.Global++
			}
			if own != id {
				res.Own++
			}
		})
	}
	wg.Wait()
	return res, failure
}

// getOK GETs url and returns the body of a 200 answer.
func getOK(client *http.Client, url string) (string, error) {
	resp, err := client.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return string(body), err
}

// showIsolation prints what /whoami.php's burst found in each pool.
func showIsolation(n *narrator.Narrator, cfg settings, pools ...poolResult) {
	n.Say("/whoami.php stores its ?id= in a global, waits %s on IO, then answers with the global's", cfg.pause)
	n.Say("id and its own request's; %d requests at once, before the load, in each pool:", cfg.isolation)
	t := n.Table("pool", "requests", "answered", "global is another's", "own is another's")
	for _, p := range pools {
		iso := p.Isolation
		t.Row(p.Pool.name, iso.Requests, iso.Answered, iso.Global, iso.Own)
	}
	t.Print()
	n.Say("a blocking worker runs one request from start to end, so its globals are that request's;")
	n.Say("a coroutine worker switches requests at every wait, and the next one overwrote the global.")
	n.Say("Each coroutine has its own request (the fastcgi.Request read for it, with its params and")
	n.Say("body) and its own stack: state kept there is safe. State kept in the process is shared,")
	n.Say("as Swoole's $_GET and static properties are: coroutine PHP code must read the request object.")
}
