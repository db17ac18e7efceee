package fpm

import (
	"fmt"
	"os/user"
	"strconv"
)

// lookupOwner turns listen.owner and listen.group into ids; -1 leaves that
// id as it is (the directive was not given).
func lookupOwner(owner, group string) (uid, gid int, err error) {
	uid, gid = -1, -1
	if owner != "" {
		u, err := user.Lookup(owner)
		if err != nil {
			return 0, 0, fmt.Errorf("cannot get uid for user '%s': %w", owner, err)
		}
		uid, _ = strconv.Atoi(u.Uid)
		if group == "" {
			gid, _ = strconv.Atoi(u.Gid)
		}
	}
	if group != "" {
		g, err := user.LookupGroup(group)
		if err != nil {
			return 0, 0, fmt.Errorf("cannot get gid for group '%s': %w", group, err)
		}
		gid, _ = strconv.Atoi(g.Gid)
	}
	return uid, gid, nil
}
