package execdocker

import (
	"cmp"
	"fmt"
	"maps"
	"strconv"
	"strings"

	"github.com/docker/docker/api/types/container"

	"github.com/gantrybatch/gantry"
	"github.com/gantrybatch/gantry/executor"
)

const mib = 1 << 20

// spec is what ContainerCreate needs.
type spec struct {
	config *container.Config
	host   *container.HostConfig
}

// containerSpec maps an attempt to a container. It returns a
// *executor.StartError for a spec the engine could not run (a mount point
// naming no volume, an EFS volume).
func containerSpec(cfg *Config, task *executor.Task) (*spec, error) {
	cp := task.Container
	if cp == nil {
		cp = &gantry.ContainerProperties{}
	}
	if cp.Image == "" {
		return nil, &executor.StartError{Reason: reasonCannotPull + "the job has no container image"}
	}
	labels := map[string]string{}
	maps.Copy(labels, task.Labels)
	labels[LabelManaged] = "true"
	labels[executor.LabelTaskID] = task.ID
	if task.JobID != "" {
		labels[executor.LabelJobID] = task.JobID
	}
	if task.Attempt > 0 {
		labels[executor.LabelAttempt] = strconv.Itoa(task.Attempt)
	}
	config := &container.Config{
		Image:  cp.Image,
		Env:    task.Env,
		User:   cp.User,
		Labels: labels,
	}
	if len(task.Command) > 0 {
		config.Cmd = task.Command
	}

	lp := cp.LinuxParameters
	if lp == nil {
		lp = &gantry.LinuxParameters{}
	}
	init := *cfg.Init || (lp.InitProcessEnabled != nil && *lp.InitProcessEnabled)
	host := &container.HostConfig{
		NetworkMode:    container.NetworkMode(cfg.NetworkMode),
		ExtraHosts:     cfg.ExtraHosts,
		Init:           &init,
		ReadonlyRootfs: cp.ReadonlyRootFilesystem != nil && *cp.ReadonlyRootFilesystem,
		Privileged:     cp.Privileged != nil && *cp.Privileged,
	}

	res := task.Resources
	if res.VCPUs > 0 {
		host.NanoCPUs = int64(res.VCPUs * 1e9)
	}
	if res.MemoryMiB > 0 {
		host.Memory = res.MemoryMiB * mib
		// No swap unless maxSwap grants some (AWS: maxSwap 0 means none;
		// we also default to none, the engine's default being twice the
		// memory).
		host.MemorySwap = host.Memory
		if lp.MaxSwap != nil && *lp.MaxSwap > 0 {
			host.MemorySwap = host.Memory + int64(*lp.MaxSwap)*mib
		}
	}
	if lp.Swappiness != nil {
		s := int64(*lp.Swappiness)
		host.MemorySwappiness = &s
	}
	if res.GPUs > 0 {
		host.DeviceRequests = []container.DeviceRequest{{Count: int(res.GPUs), Capabilities: [][]string{{"gpu"}}}}
	}
	for _, u := range cp.Ulimits {
		host.Ulimits = append(host.Ulimits, &container.Ulimit{Name: u.Name, Soft: int64(u.SoftLimit), Hard: int64(u.HardLimit)})
	}
	if lp.SharedMemorySize != nil && *lp.SharedMemorySize > 0 {
		host.ShmSize = int64(*lp.SharedMemorySize) * mib
	}
	for _, t := range lp.Tmpfs {
		var opts []string
		if t.Size > 0 {
			opts = append(opts, fmt.Sprintf("size=%dm", t.Size))
		}
		opts = append(opts, t.MountOptions...)
		if host.Tmpfs == nil {
			host.Tmpfs = map[string]string{}
		}
		host.Tmpfs[t.ContainerPath] = strings.Join(opts, ",")
	}
	for _, d := range lp.Devices {
		host.Devices = append(host.Devices, container.DeviceMapping{
			PathOnHost:        d.HostPath,
			PathInContainer:   cmp.Or(d.ContainerPath, d.HostPath),
			CgroupPermissions: devicePermissions(d.Permissions),
		})
	}

	volumes := map[string]gantry.Volume{}
	for _, v := range cp.Volumes {
		volumes[v.Name] = v
	}
	for _, mp := range cp.MountPoints {
		v, ok := volumes[mp.SourceVolume]
		if !ok {
			return nil, &executor.StartError{Reason: fmt.Sprintf("%smount point %s names volume %q, which the job does not define", reasonCannotStart, mp.ContainerPath, mp.SourceVolume)}
		}
		switch {
		case v.Host != nil && v.Host.SourcePath != "":
			bind := v.Host.SourcePath + ":" + mp.ContainerPath
			if mp.ReadOnly != nil && *mp.ReadOnly {
				bind += ":ro"
			}
			host.Binds = append(host.Binds, bind)
		case len(v.EfsVolumeConfiguration) > 0:
			return nil, &executor.StartError{Reason: fmt.Sprintf("%svolume %q: EFS volumes are not supported by the docker executor", reasonCannotStart, v.Name)}
		default:
			// A volume without a source lives as long as the container.
			if config.Volumes == nil {
				config.Volumes = map[string]struct{}{}
			}
			config.Volumes[mp.ContainerPath] = struct{}{}
		}
	}
	return &spec{config: config, host: host}, nil
}

// devicePermissions maps READ, WRITE and MKNOD to cgroup permissions "rwm";
// none means all.
func devicePermissions(perms []string) string {
	if len(perms) == 0 {
		return "rwm"
	}
	var b strings.Builder
	for _, p := range []struct{ name, flag string }{{"READ", "r"}, {"WRITE", "w"}, {"MKNOD", "m"}} {
		for _, q := range perms {
			if strings.EqualFold(q, p.name) {
				b.WriteString(p.flag)
				break
			}
		}
	}
	return b.String()
}
