package store

import (
	"unsafe"

	"github.com/ringmetrics/ringmetrics/pkg/sample"
)

// Sizes for Stats' byte estimate, kept next to each other so the estimate
// follows the types when they change.
const (
	sizeofStore          = int64(unsafe.Sizeof(Store{}))
	sizeofShard          = int64(unsafe.Sizeof(shard{}))
	sizeofSeries         = int64(unsafe.Sizeof(series{}))
	sizeofPodState       = int64(unsafe.Sizeof(podState{}))
	sizeofPodKey         = int64(unsafe.Sizeof(podKey{}))
	sizeofPodLoc         = int64(unsafe.Sizeof(podLoc{}))
	sizeofRemovedPod     = int64(unsafe.Sizeof(removedPod{}))
	sizeofSnapshot       = int64(unsafe.Sizeof(snapshot{}))
	sizeofSnapPod        = int64(unsafe.Sizeof(snapPod{}))
	sizeofContainerUsage = int64(unsafe.Sizeof(sample.ContainerUsage{}))
	sizeofString         = int64(unsafe.Sizeof(""))
)
