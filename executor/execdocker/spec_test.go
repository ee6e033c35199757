package execdocker

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/docker/docker/api/types/container"
	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/gantrybatch/gantry"
	"github.com/gantrybatch/gantry/executor"
)

func ptr[T any](v T) *T { return &v }

func TestContainerSpec(t *testing.T) {
	t.Parallel()
	baseTask := func() *executor.Task {
		return &executor.Task{
			ID: "t1", JobID: "j1", Attempt: 2,
			Container: &gantry.ContainerProperties{Image: "img"},
			Command:   []string{"run", "it"},
			Env:       []string{"A=1"},
			Resources: gantry.Resources{VCPUs: 2, MemoryMiB: 100},
			Labels:    map[string]string{"x": "y"},
		}
	}
	baseHost := func() *container.HostConfig {
		return &container.HostConfig{
			NetworkMode: "bridge",
			Init:        ptr(true),
			Resources:   container.Resources{NanoCPUs: 2e9, Memory: 100 << 20, MemorySwap: 100 << 20},
		}
	}
	for name, tc := range map[string]struct {
		cfg        Config
		mutate     func(*executor.Task)
		wantHost   func(*container.HostConfig)
		wantConfig func(*container.Config)
		wantErr    string
	}{
		"defaults": {},
		"image default command": {
			mutate:     func(task *executor.Task) { task.Command = nil },
			wantConfig: func(c *container.Config) { c.Cmd = nil },
		},
		"no limits": {
			mutate: func(task *executor.Task) { task.Resources = gantry.Resources{} },
			wantHost: func(h *container.HostConfig) {
				h.NanoCPUs, h.Memory, h.MemorySwap = 0, 0, 0
			},
		},
		"swap": {
			mutate: func(task *executor.Task) {
				task.Container.LinuxParameters = &gantry.LinuxParameters{MaxSwap: ptr(int32(50)), Swappiness: ptr(int32(10))}
			},
			wantHost: func(h *container.HostConfig) {
				h.MemorySwap = 150 << 20
				h.MemorySwappiness = ptr(int64(10))
			},
		},
		"init off, job on": {
			cfg: Config{Init: ptr(false)},
			mutate: func(task *executor.Task) {
				task.Container.LinuxParameters = &gantry.LinuxParameters{InitProcessEnabled: ptr(true)}
			},
		},
		"init off": {
			cfg:      Config{Init: ptr(false)},
			wantHost: func(h *container.HostConfig) { h.Init = ptr(false) },
		},
		"network and hosts": {
			cfg:      Config{NetworkMode: "host", ExtraHosts: []string{"a:1.2.3.4"}},
			wantHost: func(h *container.HostConfig) { h.NetworkMode = "host"; h.ExtraHosts = []string{"a:1.2.3.4"} },
		},
		"container properties": {
			mutate: func(task *executor.Task) {
				c := task.Container
				c.User = "nobody"
				c.Privileged = ptr(true)
				c.ReadonlyRootFilesystem = ptr(true)
				c.Ulimits = []gantry.Ulimit{{Name: "nofile", SoftLimit: 1, HardLimit: 2}}
				c.LinuxParameters = &gantry.LinuxParameters{
					SharedMemorySize: ptr(int32(64)),
					Tmpfs: []gantry.Tmpfs{
						{ContainerPath: "/a", Size: 10},
						{ContainerPath: "/b", Size: 0, MountOptions: []string{"ro", "noexec"}},
					},
					Devices: []gantry.Device{
						{HostPath: "/dev/fuse"},
						{HostPath: "/dev/x", ContainerPath: "/dev/y", Permissions: []string{"MKNOD", "READ"}},
					},
				}
				task.Resources.GPUs = 1
			},
			wantConfig: func(c *container.Config) { c.User = "nobody" },
			wantHost: func(h *container.HostConfig) {
				h.Privileged = true
				h.ReadonlyRootfs = true
				h.Ulimits = []*container.Ulimit{{Name: "nofile", Soft: 1, Hard: 2}}
				h.ShmSize = 64 << 20
				h.Tmpfs = map[string]string{"/a": "size=10m", "/b": "ro,noexec"}
				h.Devices = []container.DeviceMapping{
					{PathOnHost: "/dev/fuse", PathInContainer: "/dev/fuse", CgroupPermissions: "rwm"},
					{PathOnHost: "/dev/x", PathInContainer: "/dev/y", CgroupPermissions: "rm"},
				}
				h.DeviceRequests = []container.DeviceRequest{{Count: 1, Capabilities: [][]string{{"gpu"}}}}
			},
		},
		"volumes": {
			mutate: func(task *executor.Task) {
				c := task.Container
				c.Volumes = []gantry.Volume{
					{Name: "h", Host: &gantry.Host{SourcePath: "/srv/data"}},
					{Name: "anon"},
				}
				c.MountPoints = []gantry.MountPoint{
					{SourceVolume: "h", ContainerPath: "/data", ReadOnly: ptr(true)},
					{SourceVolume: "h", ContainerPath: "/data2", ReadOnly: ptr(false)},
					{SourceVolume: "anon", ContainerPath: "/scratch"},
				}
			},
			wantConfig: func(c *container.Config) { c.Volumes = map[string]struct{}{"/scratch": {}} },
			wantHost:   func(h *container.HostConfig) { h.Binds = []string{"/srv/data:/data:ro", "/srv/data:/data2"} },
		},
		"unknown volume": {
			mutate: func(task *executor.Task) {
				task.Container.MountPoints = []gantry.MountPoint{{SourceVolume: "nope", ContainerPath: "/x"}}
			},
			wantErr: `CannotStartContainerError: mount point /x names volume "nope"`,
		},
		"efs volume": {
			mutate: func(task *executor.Task) {
				task.Container.Volumes = []gantry.Volume{{Name: "e", EfsVolumeConfiguration: json.RawMessage(`{"fileSystemId":"fs-1"}`)}}
				task.Container.MountPoints = []gantry.MountPoint{{SourceVolume: "e", ContainerPath: "/x"}}
			},
			wantErr: "CannotStartContainerError: volume \"e\": EFS volumes are not supported",
		},
		"no image": {
			mutate:  func(task *executor.Task) { task.Container.Image = "" },
			wantErr: "CannotPullContainerError:",
		},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			cfg := tc.cfg
			cfg.NetworkMode = cmpOr(cfg.NetworkMode, "bridge")
			if cfg.Init == nil {
				cfg.Init = ptr(true)
			}
			task := baseTask()
			if tc.mutate != nil {
				tc.mutate(task)
			}
			sp, err := containerSpec(&cfg, task)
			if tc.wantErr != "" {
				var se *executor.StartError
				require.ErrorAs(t, err, &se)
				require.True(t, strings.HasPrefix(se.Reason, tc.wantErr), se.Reason)
				return
			}
			require.NoError(t, err)
			wantConfig := &container.Config{
				Image: "img",
				Cmd:   []string{"run", "it"},
				Env:   []string{"A=1"},
				Labels: map[string]string{
					"x": "y", LabelManaged: "true",
					executor.LabelTaskID: "t1", executor.LabelJobID: "j1", executor.LabelAttempt: "2",
				},
			}
			if tc.wantConfig != nil {
				tc.wantConfig(wantConfig)
			}
			wantHost := baseHost()
			if tc.wantHost != nil {
				tc.wantHost(wantHost)
			}
			if diff := cmp.Diff(wantConfig, sp.config); diff != "" {
				t.Errorf("config (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(wantHost, sp.host); diff != "" {
				t.Errorf("host config (-want +got):\n%s", diff)
			}
		})
	}
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
