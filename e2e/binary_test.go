package e2e

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/batch"
	"github.com/stretchr/testify/require"

	"github.com/gantrybatch/gantry/internal/gantrytest"
)

// The real gantry binary, built once per test run by gantryBinary.
var (
	binaryOnce sync.Once
	binaryDir  string
	binaryPath string
	binaryErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binaryDir != "" {
		_ = os.RemoveAll(binaryDir)
	}
	os.Exit(code)
}

// gantryBinary builds ./cmd/gantry (once) and returns the binary's path.
func gantryBinary(t *testing.T) string {
	t.Helper()
	binaryOnce.Do(func() {
		goCmd, err := exec.LookPath("go")
		if err != nil {
			binaryErr = fmt.Errorf("go tool not found: %w", err)
			return
		}
		out, err := exec.Command(goCmd, "env", "GOMOD").Output()
		if err != nil {
			binaryErr = fmt.Errorf("go env GOMOD: %w", err)
			return
		}
		gomod := strings.TrimSpace(string(out))
		if gomod == "" || gomod == os.DevNull {
			binaryErr = errors.New("go env GOMOD: not inside the module")
			return
		}
		binaryDir, err = os.MkdirTemp("", "gantry-e2e-bin-")
		if err != nil {
			binaryErr = err
			return
		}
		path := filepath.Join(binaryDir, "gantry")
		build := exec.Command(goCmd, "build", "-o", path, "./cmd/gantry")
		build.Dir = filepath.Dir(gomod)
		if out, err := build.CombinedOutput(); err != nil {
			binaryErr = fmt.Errorf("go build ./cmd/gantry: %w\n%s", err, out)
			return
		}
		binaryPath = path
	})
	require.NoError(t, binaryErr)
	return binaryPath
}

// serverProc is a `gantry server` subprocess in its own process group.
type serverProc struct {
	t       *testing.T
	cmd     *exec.Cmd
	dataDir string
	addr    string
	logPath string
	done    chan struct{} // closed when the process has been reaped
	waitErr error         // valid after done
	// Batch is a client for this server (see newBatchClient).
	Batch *batch.Client
}

// startServer runs `gantry server` on a free port of 127.0.0.1 over
// dataDir, waits until GET /healthz answers 200 and returns it. The server's
// stderr goes to a file that is logged if the test fails; the process group
// is killed when the test ends.
func startServer(t *testing.T, dataDir string, extraArgs ...string) *serverProc {
	t.Helper()
	bin := gantryBinary(t)
	var lastErr error
	// A free port can be taken between picking and listening: try again.
	for try := range 3 {
		s, err := tryStartServer(t, bin, dataDir, try, extraArgs)
		if err == nil {
			return s
		}
		lastErr = err
		if !errors.Is(err, errAddrInUse) {
			break
		}
	}
	require.NoError(t, lastErr)
	return nil
}

var errAddrInUse = errors.New("address already in use")

var serverSeq struct {
	sync.Mutex
	n int
}

func tryStartServer(t *testing.T, bin, dataDir string, try int, extraArgs []string) (*serverProc, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	serverSeq.Lock()
	serverSeq.n++
	n := serverSeq.n
	serverSeq.Unlock()
	logDir := t.TempDir()
	logPath := filepath.Join(logDir, fmt.Sprintf("server-%d-%d.log", n, try))
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer logFile.Close() // the child has its own copy

	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	// The process executor unless the test asks otherwise (a later
	// --executor in extraArgs wins).
	args := append([]string{"server", "--addr", addr, "--data-dir", dataDir, "--executor", "process",
		"--scheduler-interval", "50ms", "--stop-grace", "2s"}, extraArgs...)
	cmd := exec.Command(bin, args...)
	cmd.Env = serverEnv()
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start gantry server: %w", err)
	}
	s := &serverProc{t: t, cmd: cmd, dataDir: dataDir, addr: addr, logPath: logPath, done: make(chan struct{})}
	go func() {
		s.waitErr = cmd.Wait()
		close(s.done)
	}()
	t.Cleanup(func() {
		// Whatever the test did, leave no server behind (the group, so
		// that a hung server's helpers go too; jobs have their own groups).
		select {
		case <-s.done:
		default:
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-s.done
		}
		if t.Failed() {
			s.logOutput()
		}
	})

	deadline := time.Now().Add(15 * time.Second)
	hc := &http.Client{Timeout: time.Second}
	for {
		select {
		case <-s.done:
			b, _ := os.ReadFile(logPath)
			if strings.Contains(string(b), "address already in use") {
				return nil, fmt.Errorf("%s: %w", addr, errAddrInUse)
			}
			return nil, fmt.Errorf("gantry server exited before it was healthy (%v); output:\n%s", s.waitErr, b)
		default:
		}
		resp, err := hc.Get(s.URL() + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				s.Batch = newBatchClient(s.URL())
				return s, nil
			}
		}
		if time.Now().After(deadline) {
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-s.done
			b, _ := os.ReadFile(logPath)
			return nil, fmt.Errorf("gantry server not healthy on %s within 15s (last error %v); output:\n%s", addr, err, b)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func newBatchClient(endpoint string) *batch.Client {
	return gantrytest.NewBatchClient(endpoint, "AKIDEXAMPLE", "secret")
}

// serverEnv is the test's environment without GANTRY_* variables, so that
// only the flags configure the server.
func serverEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "GANTRY_") {
			env = append(env, kv)
		}
	}
	return env
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// URL is the server's endpoint.
func (s *serverProc) URL() string { return "http://" + s.addr }

// Pid is the server process id.
func (s *serverProc) Pid() int { return s.cmd.Process.Pid }

// Kill9 simulates a crash: SIGKILL to the server process only (not its
// process group), then waits until it is reaped.
func (s *serverProc) Kill9() {
	s.t.Helper()
	require.NoError(s.t, syscall.Kill(s.cmd.Process.Pid, syscall.SIGKILL))
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
		s.t.Fatalf("gantry server (pid %d) still running 10s after SIGKILL", s.Pid())
	}
	var ee *exec.ExitError
	require.ErrorAs(s.t, s.waitErr, &ee)
	ws, ok := ee.Sys().(syscall.WaitStatus)
	require.True(s.t, ok)
	require.True(s.t, ws.Signaled() && ws.Signal() == syscall.SIGKILL, "server exit status: %v", s.waitErr)
}

// Stop sends SIGTERM and requires a clean exit (status 0) within 15s. It
// returns how long the server took to exit.
func (s *serverProc) Stop() time.Duration {
	s.t.Helper()
	start := time.Now()
	require.NoError(s.t, syscall.Kill(s.cmd.Process.Pid, syscall.SIGTERM))
	select {
	case <-s.done:
	case <-time.After(15 * time.Second):
		s.t.Fatalf("gantry server (pid %d) still running 15s after SIGTERM", s.Pid())
	}
	took := time.Since(start)
	require.NoError(s.t, s.waitErr, "gantry server must exit 0 on SIGTERM")
	return took
}

func (s *serverProc) logOutput() {
	b, err := os.ReadFile(s.logPath)
	if err != nil {
		s.t.Logf("gantry server %s: cannot read its output: %v", s.addr, err)
		return
	}
	const maxLog = 256 << 10
	if len(b) > maxLog {
		b = append([]byte("[...]\n"), b[len(b)-maxLog:]...)
	}
	s.t.Logf("gantry server %s (pid %d, data dir %s) output:\n%s", s.addr, s.Pid(), s.dataDir, b)
}
