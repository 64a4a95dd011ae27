package v1alpha1

import (
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// NodeUsage is the usage history of one node, summarised: what the node
// (all of it, system and pods) used over the window.
//
// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object
type NodeUsage struct {
	metav1.TypeMeta `json:",inline"`
	// Standard object metadata: the node's name and labels.
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Usage is the node's summary over the window.
	Usage Summary `json:"usage"`
	// Samples are the points behind the summary, oldest first; only with
	// ?samples=true.
	// +optional
	// +listType=atomic
	Samples []Sample `json:"samples,omitempty"`
}

// NodeUsageList is a list of NodeUsage.
//
// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object
type NodeUsageList struct {
	metav1.TypeMeta `json:",inline"`
	// Standard list metadata.
	metav1.ListMeta `json:"metadata,omitempty"`

	// Items are the nodes' usage, sorted by name.
	Items []NodeUsage `json:"items"`
}

// PodUsage is the usage history of one pod's containers, summarised per
// container, with each container's requests and limits, a recommended
// request, and the ratios of usage to request.
//
// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object
type PodUsage struct {
	metav1.TypeMeta `json:",inline"`
	// Standard object metadata: the pod's name, namespace and labels.
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Timestamp is the end of the window: the newest point of any container.
	Timestamp metav1.Time `json:"timestamp"`
	// Window is the span the pod's figures cover: the shortest of its
	// containers' windows.
	Window metav1.Duration `json:"window"`
	// Total sums each figure over the containers.
	Total Total `json:"total"`
	// Containers are the pod's containers that have usage in the window
	// (two points of one run), in the order of the pod's spec, its sidecars
	// (restartable init containers) last.
	// +listType=map
	// +listMapKey=name
	Containers []ContainerUsage `json:"containers"`
}

// PodUsageList is a list of PodUsage.
//
// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object
type PodUsageList struct {
	metav1.TypeMeta `json:",inline"`
	// Standard list metadata.
	metav1.ListMeta `json:"metadata,omitempty"`

	// Items are the pods' usage, sorted by namespace and name.
	Items []PodUsage `json:"items"`
}

// ContainerUsage is one container's usage over the window, and what it
// asks for.
type ContainerUsage struct {
	// Name is the container's name.
	Name string `json:"name"`
	// Usage is the container's summary over the window.
	Usage Summary `json:"usage"`
	// Requests are the container's cpu and memory requests, as the pod spec
	// has them; absent when it requests neither.
	// +optional
	Requests *Resources `json:"requests,omitempty"`
	// Limits are the container's cpu and memory limits, as the pod spec has
	// them; absent when it sets neither.
	// +optional
	Limits *Resources `json:"limits,omitempty"`
	// Recommendation is the request this usage suggests, by VPA's target
	// rule: cpu = max(p90 × 1.15, 25m / containers) rounded up to 1m,
	// memory = max(max × 1.15, 250Mi / containers) rounded up to 1Mi, where
	// containers counts the pod's containers served.
	Recommendation Recommendation `json:"recommendation"`
	// Ratios compare the usage to the requests.
	Ratios Ratios `json:"ratios"`
	// Samples are the points behind the summary, oldest first; only with
	// ?samples=true.
	// +optional
	// +listType=atomic
	Samples []Sample `json:"samples,omitempty"`
}

// Summary describes one series (a node or a container) over the window.
type Summary struct {
	// Timestamp is when the newest point was taken: the end of the window.
	Timestamp metav1.Time `json:"timestamp"`
	// Window is the span covered: from the oldest point used to the newest.
	Window metav1.Duration `json:"window"`
	// Points is the number of points in the window.
	Points int32 `json:"points"`
	// Restarts counts the pairs of consecutive points over which the CPU
	// counter went down: restarts, which give no CPU rate.
	Restarts int32 `json:"restarts"`
	// CPU is the CPU usage, in cores, from the rates between consecutive
	// points.
	CPU CPUStats `json:"cpu"`
	// Memory is the working set, in bytes, of the points.
	Memory MemoryStats `json:"memory"`
}

// CPUStats summarise CPU rates, in cores. Percentiles are nearest-rank: the
// p-th percentile of n rates is the ⌈p·n/100⌉-th smallest.
type CPUStats struct {
	// Avg is the average rate: the CPU time consumed over the time the
	// rates cover.
	Avg resource.Quantity `json:"avg"`
	// P50 is the median rate.
	P50 resource.Quantity `json:"p50"`
	// P90 is the 90th percentile of the rates.
	P90 resource.Quantity `json:"p90"`
	// P95 is the 95th percentile of the rates.
	P95 resource.Quantity `json:"p95"`
	// Max is the largest rate.
	Max resource.Quantity `json:"max"`
}

// MemoryStats summarise working-set readings, in bytes. The percentile is
// nearest-rank.
type MemoryStats struct {
	// Avg is the mean of the readings.
	Avg resource.Quantity `json:"avg"`
	// P95 is the 95th percentile of the readings.
	P95 resource.Quantity `json:"p95"`
	// Max is the largest reading.
	Max resource.Quantity `json:"max"`
}

// Ratios compare usage to requests, in percent, rounded to the nearest
// integer: 100 means the container used exactly what it requests, 20 that
// it requests five times what it used. A ratio is absent when there is no
// such request (or it is zero).
type Ratios struct {
	// CPUP95 is the CPU p95 over the CPU request.
	// +optional
	CPUP95 *int64 `json:"cpuP95,omitempty"`
	// CPUMax is the CPU max over the CPU request.
	// +optional
	CPUMax *int64 `json:"cpuMax,omitempty"`
	// MemoryMax is the memory max over the memory request.
	// +optional
	MemoryMax *int64 `json:"memoryMax,omitempty"`
}

// Total sums the containers' figures. The sum of the containers' averages
// and recommendations is the pod's; the sum of their percentiles and
// maxima bounds the pod's from above (the containers need not peak
// together). A request or limit is summed only when every container has
// it, and is absent otherwise, as are the ratios it would give.
type Total struct {
	// CPU sums the containers' CPU figures.
	CPU CPUStats `json:"cpu"`
	// Memory sums the containers' memory figures.
	Memory MemoryStats `json:"memory"`
	// Requests sum the containers' requests.
	// +optional
	Requests *Resources `json:"requests,omitempty"`
	// Limits sum the containers' limits.
	// +optional
	Limits *Resources `json:"limits,omitempty"`
	// Recommendation sums the containers' recommendations.
	Recommendation Recommendation `json:"recommendation"`
	// Ratios compare the summed usage to the summed requests.
	Ratios Ratios `json:"ratios"`
}

// Resources are amounts of cpu (cores) and memory (bytes), written as a
// ResourceList is ({"cpu": "250m", "memory": "256Mi"}); an amount not set
// is absent.
type Resources struct {
	// CPU in cores.
	// +optional
	CPU *resource.Quantity `json:"cpu,omitempty"`
	// Memory in bytes.
	// +optional
	Memory *resource.Quantity `json:"memory,omitempty"`
}

// Recommendation is a recommended request of cpu (cores) and memory
// (bytes).
type Recommendation struct {
	// CPU in cores.
	CPU resource.Quantity `json:"cpu"`
	// Memory in bytes.
	Memory resource.Quantity `json:"memory"`
}

// Sample is one point of a series.
type Sample struct {
	// Timestamp is when the kubelet took the reading, to the microsecond
	// (kubelets report milliseconds): the rates between samples are taken
	// over these times.
	Timestamp metav1.MicroTime `json:"timestamp"`
	// CPU is the rate, in cores, since the previous sample; absent for the
	// first sample of the window and after a restart.
	// +optional
	CPU *resource.Quantity `json:"cpu,omitempty"`
	// Memory is the working set, in bytes.
	Memory resource.Quantity `json:"memory"`
}
