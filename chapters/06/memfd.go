package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/corofpm/corofpm/fpm/proc"
	"github.com/corofpm/corofpm/fpm/shm"
	"github.com/corofpm/corofpm/tutorial/narrator"
)

// shareResult is what step 1 saw.
type shareResult struct {
	Message string
	// Maps are the mapping's line in /proc/PID/maps of the parent and of
	// the child, and Inodes their inode fields.
	Maps   [2]string
	Inodes [2]string
}

// The segment of step 1: the child stores its message's length at offset
// 0 once the message is at offset 64, so that the parent never reads a
// half-written message.
const (
	offLength  = 0
	offMessage = 64
)

// ANCHOR: share
// shareMain is the child of step 1: it maps the memfd it inherited as fd 3,
// writes a message into it, and waits for the parent to be done (EOF on
// the pipe at fd 4) so that its mapping is still there to be looked at.
func shareMain(c *proc.Child) error {
	seg, err := shm.Open(c.Files[0])
	if err != nil {
		return err
	}
	defer seg.Close()
	msg := fmt.Sprintf("hello from pid %d", os.Getpid())
	copy(seg.Bytes[offMessage:], msg)
	seg.Uint32(offLength).Store(uint32(len(msg))) // publishes the bytes before it
	io.Copy(io.Discard, c.Files[1])
	return nil
}

// ANCHOR_END: share

// share runs step 1: create a memfd, pass it to a child, read what the
// child wrote, and show the mapping in both processes.
func share(n *narrator.Narrator) (res shareResult, err error) {
	seg, err := shm.Create("chapter06", 4096)
	if err != nil {
		return res, err
	}
	defer seg.Close()
	done, hold, err := os.Pipe()
	if err != nil {
		return res, err
	}
	p, err := proc.Start(proc.Spec{Role: "share", Files: []*os.File{seg.File(), done}, Stderr: os.Stderr})
	done.Close()
	if err != nil {
		hold.Close()
		return res, err
	}
	defer p.Wait()
	defer hold.Close() // the child's EOF: it may exit

	n.Say("memfd_create(\"chapter06\") gave fd %d, 4096 bytes; the child (pid %d) inherited it as fd 3", seg.File().Fd(), p.Pid)
	deadline := time.Now().Add(10 * time.Second)
	for seg.Uint32(offLength).Load() == 0 {
		if time.Now().After(deadline) {
			return res, fmt.Errorf("the child wrote nothing in 10 s")
		}
		time.Sleep(time.Millisecond)
	}
	length := seg.Uint32(offLength).Load()
	res.Message = string(seg.Bytes[offMessage : offMessage+int(length)])
	n.Say("the child wrote into its mapping, the parent reads it from its own: %q", res.Message)
	for i, pid := range []int{os.Getpid(), p.Pid} {
		if res.Maps[i], err = mapsLine(pid, "/memfd:chapter06"); err != nil {
			return res, err
		}
		if f := strings.Fields(res.Maps[i]); len(f) > 4 {
			res.Inodes[i] = f[4]
		}
	}
	n.Say("/proc/PID/maps: address range, rw-s (s: shared), offset, device, inode, file:")
	n.From("parent", os.Getpid(), "%s", res.Maps[0])
	n.From("child", p.Pid, "%s", res.Maps[1])
	n.Say("two addresses, one inode (%s): one file in RAM, the same physical pages under both", res.Inodes[0])
	return res, nil
}

// mapsLine is the line of /proc/pid/maps whose file name contains name.
func mapsLine(pid int, name string) (string, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/maps", pid))
	if err != nil {
		return "", err
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if strings.Contains(line, name) {
			return strings.Join(strings.Fields(line), " "), nil
		}
	}
	return "", fmt.Errorf("no %s in /proc/%d/maps", name, pid)
}
