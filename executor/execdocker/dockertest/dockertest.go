// Package dockertest helps tests that need a Docker engine: RequireEngine
// skips (or, in CI, fails) a test when none answers, and EnsureImage builds
// small test images from the host's static busybox, since tests cannot
// pull images.
//
//	func TestSomething(t *testing.T) {
//		img := dockertest.EnsureImage(t, dockertest.BusyboxImage, nil)
//		...
//	}
//
// The engine is found the way the docker CLI finds it (DOCKER_HOST, else
// the platform default).
package dockertest

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/build"
	"github.com/docker/docker/client"
)

// BusyboxImage is the conventional name of the plain busybox test image.
const BusyboxImage = "gantry-test/busybox:latest"

// BusyboxPath is the static busybox binary copied into test images.
const BusyboxPath = "/bin/busybox"

// labelContent is set on built images to the hash of their build context,
// so that an existing image with the same content is reused.
const labelContent = "gantry.test.content"

var (
	cliOnce sync.Once
	cli     *client.Client
	cliErr  error

	mu     sync.Mutex
	images = map[string]*build1{} // by name
)

// build1 is one image build, shared by the tests of a process.
type build1 struct {
	hash string
	done chan struct{}
	err  error
}

// Client returns a client for the test engine, failing or skipping the test
// as RequireEngine does when none answers. It is shared: do not close it.
func Client(t testing.TB) *client.Client {
	t.Helper()
	RequireEngine(t)
	return cli
}

// RequireEngine skips the test when no Docker engine answers, or fails it
// when the environment variable CI or GANTRY_REQUIRE_TOOLS is set.
func RequireEngine(t testing.TB) {
	t.Helper()
	cliOnce.Do(func() {
		cli, cliErr = client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
		if cliErr != nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		ping, err := cli.Ping(ctx)
		if err != nil {
			cliErr = fmt.Errorf("docker engine at %s does not answer: %w", cli.DaemonHost(), err)
			return
		}
		cli.NegotiateAPIVersionPing(ping) // before any concurrent use
	})
	if cliErr == nil {
		return
	}
	if os.Getenv("CI") != "" || os.Getenv("GANTRY_REQUIRE_TOOLS") != "" {
		t.Fatalf("a Docker engine is required (CI or GANTRY_REQUIRE_TOOLS is set): %v", cliErr)
	}
	t.Skipf("no Docker engine (set DOCKER_HOST, or start dockerd; CI=1 makes this a failure): %v", cliErr)
}

// EnsureImage makes sure the engine has an image called name, built FROM
// scratch with the host's static busybox at /bin/busybox, a symbolic link
// in /bin for every busybox applet, ENV PATH=/bin, and extraFiles (path in
// the image -> file on the host, mode kept). It returns name.
//
// The image is built once per process per name; an image of that name
// whose content is the same (by a content label) is reused as it is.
// Calling it with other files for a name already built fails the test.
func EnsureImage(t testing.TB, name string, extraFiles map[string]string) string {
	t.Helper()
	c := Client(t)
	tarball, hash, err := buildContext(extraFiles)
	if err != nil {
		t.Fatalf("EnsureImage(%s): %v", name, err)
	}
	mu.Lock()
	b, ok := images[name]
	if !ok {
		b = &build1{hash: hash, done: make(chan struct{})}
		images[name] = b
	}
	mu.Unlock()
	if ok {
		<-b.done
		if b.hash != hash {
			t.Fatalf("EnsureImage(%s): already built in this process with other files", name)
		}
	} else {
		b.err = ensure(c, name, hash, tarball)
		close(b.done)
	}
	if b.err != nil {
		t.Fatalf("EnsureImage(%s): %v", name, b.err)
	}
	return name
}

func ensure(c *client.Client, name, hash string, tarball []byte) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	info, err := c.ImageInspect(ctx, name)
	switch {
	case err == nil && info.Config != nil && info.Config.Labels[labelContent] == hash:
		return nil
	case err != nil && !cerrdefs.IsNotFound(err):
		return fmt.Errorf("inspect image: %w", err)
	}
	resp, err := c.ImageBuild(ctx, bytes.NewReader(tarball), build.ImageBuildOptions{
		Tags:        []string{name},
		Remove:      true,
		ForceRemove: true,
		Version:     build.BuilderV1, // no BuildKit session needed
	})
	if err != nil {
		return fmt.Errorf("build image: %w", err)
	}
	defer resp.Body.Close()
	if err := readBuildOutput(resp.Body); err != nil {
		return fmt.Errorf("build image: %w", err)
	}
	return nil
}

// buildContext returns the build context (a tar with the Dockerfile,
// busybox and the extra files) and a hash of its content.
func buildContext(extraFiles map[string]string) ([]byte, string, error) {
	type file struct {
		name string
		mode int64
		data []byte
	}
	read := func(ctxName, hostPath string) (file, error) {
		fi, err := os.Stat(hostPath)
		if err != nil {
			return file{}, err
		}
		data, err := os.ReadFile(hostPath)
		if err != nil {
			return file{}, err
		}
		return file{name: ctxName, mode: int64(fi.Mode().Perm()), data: data}, nil
	}
	bb, err := read("busybox", BusyboxPath)
	if err != nil {
		return nil, "", fmt.Errorf("static busybox needed for test images: %w", err)
	}
	files := []file{bb}
	var df strings.Builder
	df.WriteString("FROM scratch\nCOPY busybox /bin/busybox\nRUN [\"/bin/busybox\", \"--install\", \"-s\", \"/bin\"]\nENV PATH=/bin\n")
	for i, dst := range slices.Sorted(maps.Keys(extraFiles)) {
		if !strings.HasPrefix(dst, "/") {
			return nil, "", fmt.Errorf("extra file %q: the path in the image must be absolute", dst)
		}
		f, err := read(fmt.Sprintf("extra/%d", i), extraFiles[dst])
		if err != nil {
			return nil, "", fmt.Errorf("extra file %s: %w", dst, err)
		}
		files = append(files, f)
		dstJSON, _ := json.Marshal(dst)
		fmt.Fprintf(&df, "COPY [%q, %s]\n", f.name, dstJSON)
	}

	h := sha256.New()
	io.WriteString(h, df.String())
	for _, f := range files {
		fmt.Fprintf(h, "\x00%s\x00%o\x00%d\x00", f.name, f.mode, len(f.data))
		h.Write(f.data)
	}
	hash := hex.EncodeToString(h.Sum(nil))[:32]
	fmt.Fprintf(&df, "LABEL %s=%s\n", labelContent, hash)
	files = append(files, file{name: "Dockerfile", mode: 0o644, data: []byte(df.String())})

	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range files {
		if err := tw.WriteHeader(&tar.Header{Name: f.name, Mode: f.mode, Size: int64(len(f.data)), Typeflag: tar.TypeReg}); err != nil {
			return nil, "", err
		}
		if _, err := tw.Write(f.data); err != nil {
			return nil, "", err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, "", err
	}
	return buf.Bytes(), hash, nil
}

// readBuildOutput reads a build's JSON progress stream and returns the
// error it reports, with the build's output for context.
func readBuildOutput(r io.Reader) error {
	var log strings.Builder
	dec := json.NewDecoder(r)
	for {
		var msg struct {
			Stream      string `json:"stream"`
			Error       string `json:"error"`
			ErrorDetail *struct {
				Message string `json:"message"`
			} `json:"errorDetail"`
		}
		if err := dec.Decode(&msg); errors.Is(err, io.EOF) {
			return nil
		} else if err != nil {
			return err
		}
		log.WriteString(msg.Stream)
		if msg.Error != "" || msg.ErrorDetail != nil {
			m := msg.Error
			if msg.ErrorDetail != nil && msg.ErrorDetail.Message != "" {
				m = msg.ErrorDetail.Message
			}
			return fmt.Errorf("%s\n%s", m, log.String())
		}
	}
}
