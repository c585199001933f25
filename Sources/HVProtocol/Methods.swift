/// The fully qualified names of every method the broker answers.
public enum Method {
    public static let getInfo = "org.varlink.service.GetInfo"
    public static let getInterfaceDescription = "org.varlink.service.GetInterfaceDescription"

    public static let hostGetInfo = "org.hypernixos.Host.GetInfo"
    public static let hostStats = "org.hypernixos.Host.Stats"
    public static let hostHealth = "org.hypernixos.Host.Health"
    public static let hostAutostart = "org.hypernixos.Host.Autostart"

    public static let vmList = "org.hypernixos.Vm.List"
    public static let vmInfo = "org.hypernixos.Vm.Info"
    public static let vmCreate = "org.hypernixos.Vm.Create"
    public static let vmStart = "org.hypernixos.Vm.Start"
    public static let vmShutdown = "org.hypernixos.Vm.Shutdown"
    public static let vmReboot = "org.hypernixos.Vm.Reboot"
    public static let vmKill = "org.hypernixos.Vm.Kill"
    public static let vmDelete = "org.hypernixos.Vm.Delete"
    public static let vmReadConsole = "org.hypernixos.Vm.ReadConsole"
    /// Only on the upload socket: answered with one end of a socket pair joined to the serial console.
    public static let vmOpenConsole = "org.hypernixos.Vm.OpenConsole"
    /// Only on the upload socket: answered with a new connection to the machine's display.
    public static let vmOpenGraphics = "org.hypernixos.Vm.OpenGraphics"
    public static let vmScreenshot = "org.hypernixos.Vm.Screenshot"
    public static let vmApply = "org.hypernixos.Vm.Apply"
    public static let vmExport = "org.hypernixos.Vm.Export"
    public static let vmClone = "org.hypernixos.Vm.Clone"
    public static let vmMakeTemplate = "org.hypernixos.Vm.MakeTemplate"
    public static let vmSetAutostart = "org.hypernixos.Vm.SetAutostart"
    public static let vmLeases = "org.hypernixos.Vm.Leases"
    public static let vmSetHugepages = "org.hypernixos.Vm.SetHugepages"
    public static let vmPinCpus = "org.hypernixos.Vm.PinCpus"
    public static let vmSetPassthrough = "org.hypernixos.Vm.SetPassthrough"
    public static let vmAdopt = "org.hypernixos.Vm.Adopt"

    public static let snapshotList = "org.hypernixos.Snapshot.List"
    public static let snapshotCreate = "org.hypernixos.Snapshot.Create"
    public static let snapshotRevert = "org.hypernixos.Snapshot.Revert"
    public static let snapshotDelete = "org.hypernixos.Snapshot.Delete"

    public static let storageListPools = "org.hypernixos.Storage.ListPools"
    public static let storageListVolumes = "org.hypernixos.Storage.ListVolumes"
    public static let storageCreateVolume = "org.hypernixos.Storage.CreateVolume"
    public static let storageResizeVolume = "org.hypernixos.Storage.ResizeVolume"
    public static let storageDeleteVolume = "org.hypernixos.Storage.DeleteVolume"
    public static let storageMarkTemplate = "org.hypernixos.Storage.MarkTemplate"

    public static let networkList = "org.hypernixos.Network.List"
    public static let networkCreate = "org.hypernixos.Network.Create"
    public static let networkStart = "org.hypernixos.Network.Start"
    public static let networkStop = "org.hypernixos.Network.Stop"
    public static let networkSetAutostart = "org.hypernixos.Network.SetAutostart"
    public static let networkDelete = "org.hypernixos.Network.Delete"

    public static let isoList = "org.hypernixos.Iso.List"
    /// Only on the upload socket, with the image's open descriptor attached.
    public static let isoAdd = "org.hypernixos.Iso.Add"
    public static let isoVerify = "org.hypernixos.Iso.Verify"
    public static let isoRemove = "org.hypernixos.Iso.Remove"

    /// Only on the upload socket, with the disk image's open descriptor attached.
    public static let imageImport = "org.hypernixos.Image.Import"

    public static let backupCreate = "org.hypernixos.Backup.Create"
    public static let backupList = "org.hypernixos.Backup.List"
    public static let backupShow = "org.hypernixos.Backup.Show"
    public static let backupVerify = "org.hypernixos.Backup.Verify"
    public static let backupRestore = "org.hypernixos.Backup.Restore"
    public static let backupBootTest = "org.hypernixos.Backup.BootTest"
    public static let backupStatus = "org.hypernixos.Backup.Status"
    public static let backupDelete = "org.hypernixos.Backup.Delete"
    public static let backupPrune = "org.hypernixos.Backup.Prune"
    public static let backupRunJob = "org.hypernixos.Backup.RunJob"
    public static let backupJobs = "org.hypernixos.Backup.Jobs"

    public static let eventsFollow = "org.hypernixos.Events.Follow"

    public static let auditVerify = "org.hypernixos.Audit.Verify"
}
