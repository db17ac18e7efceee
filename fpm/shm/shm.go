// Package shm is memory shared between a master and its workers when there
// is no fork.
//
// A C server gets shared memory for free: the master mmaps an anonymous
// MAP_SHARED region before it forks, and every child inherits the mapping
// (php-fpm's scoreboard is made that way). A Go program cannot fork, so the
// memory needs a name a re-executed child can open. Here that name is a file
// descriptor: memfd_create(2) makes an anonymous file that lives in RAM only,
// the master sizes it (ftruncate) and maps it MAP_SHARED, and passes the fd to
// each child as an inherited file (fpm/proc Spec.Files). The child maps the
// same file, so both mappings are backed by the same physical pages: a store
// by one process is a load away for the other, with no system call between.
//
// What lives in the mapping must be plain bytes and numbers, never a Go
// pointer: the garbage collector does not scan it, and an address means
// nothing in another process. Numbers that several processes change at once
// go through the atomics of this package (Uint32, Uint64, Spinlock).
package shm

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// Segment is one shared mapping and the memfd behind it.
type Segment struct {
	// Bytes is the mapping: every process that mapped the same memfd sees
	// the same bytes. It is nil after Close; touching the memory after that
	// would fault, which is why Close clears it.
	Bytes []byte

	file *os.File
}

// Create makes a shared segment of size bytes, zero-filled. name shows in
// /proc/<pid>/fd ("/memfd:<name> (deleted)") and in /proc/<pid>/maps: it
// is a label for people, not a path anyone can open.
//
// The memfd is close-on-exec (MFD_CLOEXEC), so that it reaches only the
// children it is passed to explicitly. Its size is sealed once set
// (F_SEAL_SHRINK, F_SEAL_GROW): a child that truncated the file would make
// every other process's access beyond the new end a SIGBUS, master included.
func Create(name string, size int) (*Segment, error) {
	if size <= 0 {
		return nil, fmt.Errorf("shm: create %q: size %d, want > 0", name, size)
	}
	fd, err := unix.MemfdCreate(name, unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	if err != nil {
		return nil, fmt.Errorf("shm: memfd_create %q: %w", name, err)
	}
	f := os.NewFile(uintptr(fd), "memfd:"+name)
	if err := unix.Ftruncate(fd, int64(size)); err != nil {
		f.Close()
		return nil, fmt.Errorf("shm: ftruncate %q to %d bytes: %w", name, size, err)
	}
	seals := unix.F_SEAL_SHRINK | unix.F_SEAL_GROW | unix.F_SEAL_SEAL
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_ADD_SEALS, seals); err != nil {
		f.Close()
		return nil, fmt.Errorf("shm: seal %q: %w", name, err)
	}
	return mapFile(f, size)
}

// Open maps the segment behind f, a memfd another process created and
// passed down (in a child, one of proc.Child.Files). Its size is the
// file's (fstat). The segment owns f from now on: Close closes it.
func Open(f *os.File) (*Segment, error) {
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		return nil, fmt.Errorf("shm: fstat %s: %w", f.Name(), err)
	}
	if st.Size <= 0 {
		return nil, fmt.Errorf("shm: open %s: size %d, want > 0", f.Name(), st.Size)
	}
	return mapFile(f, int(st.Size))
}

func mapFile(f *os.File, size int) (*Segment, error) {
	b, err := unix.Mmap(int(f.Fd()), 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("shm: mmap %s (%d bytes): %w", f.Name(), size, err)
	}
	return &Segment{Bytes: b, file: f}, nil
}

// File is the memfd, to pass to a child in proc.Spec.Files. The segment
// still owns it: do not close it.
func (s *Segment) File() *os.File { return s.file }

// Close unmaps the segment and closes its memfd. The memory itself lives
// on while another process maps it or holds the fd; the kernel frees it
// when the last one lets go.
func (s *Segment) Close() error {
	if s.Bytes == nil {
		return nil
	}
	err := unix.Munmap(s.Bytes)
	s.Bytes = nil
	return errors.Join(err, s.file.Close())
}
