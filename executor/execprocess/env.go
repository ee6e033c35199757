package execprocess

import (
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/gantrybatch/gantry/executor"
)

// defaultPATH is used when neither the server nor BaseEnv has a PATH.
const defaultPATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// EnvTaskID is set in every attempt's environment. Recover uses it to
// recognise an attempt's orphaned processes after a restart.
const EnvTaskID = "GANTRY_TASK_ID"

// buildEnv layers the defaults (PATH, HOME, TMPDIR), then base, then the
// task's variables, later layers winning, and appends EnvTaskID.
func buildEnv(base []string, workDir, tmpDir, taskID string, taskEnv []string) []string {
	path := os.Getenv("PATH")
	if path == "" {
		path = defaultPATH
	}
	layers := [][]string{
		{"PATH=" + path, "HOME=" + workDir, "TMPDIR=" + tmpDir},
		base,
		taskEnv,
		{EnvTaskID + "=" + taskID},
	}
	var env []string
	index := map[string]int{}
	for _, layer := range layers {
		for _, kv := range layer {
			k, _, ok := strings.Cut(kv, "=")
			if !ok || k == "" {
				continue
			}
			if i, seen := index[k]; seen {
				env[i] = kv
				continue
			}
			index[k] = len(env)
			env = append(env, kv)
		}
	}
	return env
}

// getenv returns the value of key in env.
func getenv(env []string, key string) string {
	for i := len(env) - 1; i >= 0; i-- {
		if k, v, ok := strings.Cut(env[i], "="); ok && k == key {
			return v
		}
	}
	return ""
}

// lookPath resolves argv[0] against pathEnv the way a shell would. Names
// with a slash are used as they are (relative ones against the working
// directory); relative PATH entries are ignored.
func lookPath(file, pathEnv string) (string, error) {
	if strings.Contains(file, "/") {
		return file, nil
	}
	for _, dir := range filepath.SplitList(pathEnv) {
		if !filepath.IsAbs(dir) {
			continue
		}
		p := filepath.Join(dir, file)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0 {
			return p, nil
		}
	}
	return "", &executor.StartError{Reason: fmt.Sprintf(
		"CannotStartContainerError: exec: %q: executable file not found in $PATH", file)}
}

// resolveUser turns a container user ("uid", "uid:gid", "name",
// "name:group") into credentials. It returns nil credentials when spec is
// empty or names the server's own user. Like Docker, a numeric uid that is
// not in the passwd file gets gid 0 unless a group is given.
func resolveUser(spec string) (*syscall.Credential, error) {
	if spec == "" {
		return nil, nil
	}
	fail := func(format string, args ...any) error {
		return &executor.StartError{Reason: "CannotStartContainerError: " + fmt.Sprintf(format, args...)}
	}
	userPart, groupPart, hasGroup := strings.Cut(spec, ":")
	var (
		uid, gid uint32
		groups   []uint32
		u        *user.User
		err      error
	)
	if n, perr := strconv.ParseUint(userPart, 10, 32); perr == nil {
		uid = uint32(n)
		u, _ = user.LookupId(userPart) // an unknown numeric uid is fine
	} else {
		if u, err = user.Lookup(userPart); err != nil {
			return nil, fail("unable to find user %s: no matching entries in passwd file", userPart)
		}
		n, _ := strconv.ParseUint(u.Uid, 10, 32)
		uid = uint32(n)
	}
	if u != nil {
		n, _ := strconv.ParseUint(u.Gid, 10, 32)
		gid = uint32(n)
		if ids, err := u.GroupIds(); err == nil {
			for _, id := range ids {
				if n, err := strconv.ParseUint(id, 10, 32); err == nil {
					groups = append(groups, uint32(n))
				}
			}
		}
	}
	if hasGroup {
		if n, perr := strconv.ParseUint(groupPart, 10, 32); perr == nil {
			gid = uint32(n)
		} else {
			g, err := user.LookupGroup(groupPart)
			if err != nil {
				return nil, fail("unable to find group %s: no matching entries in group file", groupPart)
			}
			n, _ := strconv.ParseUint(g.Gid, 10, 32)
			gid = uint32(n)
		}
	}
	if os.Geteuid() != 0 {
		if int(uid) == os.Geteuid() && int(gid) == os.Getegid() {
			return nil, nil
		}
		return nil, fail("cannot run as user %q: the Gantry server is not running as root", spec)
	}
	if groups == nil {
		groups = []uint32{} // drop the server's supplementary groups
	}
	return &syscall.Credential{Uid: uid, Gid: gid, Groups: groups}, nil
}
