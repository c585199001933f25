/// The fully qualified names of every method the broker answers.
public enum Method {
    public static let getInfo = "org.varlink.service.GetInfo"
    public static let getInterfaceDescription = "org.varlink.service.GetInterfaceDescription"

    public static let hostGetInfo = "org.hypernixos.Host.GetInfo"
    public static let hostStats = "org.hypernixos.Host.Stats"
    public static let hostHealth = "org.hypernixos.Host.Health"

    public static let vmList = "org.hypernixos.Vm.List"
    public static let vmInfo = "org.hypernixos.Vm.Info"
    public static let vmCreate = "org.hypernixos.Vm.Create"
    public static let vmStart = "org.hypernixos.Vm.Start"
    public static let vmShutdown = "org.hypernixos.Vm.Shutdown"
    public static let vmReboot = "org.hypernixos.Vm.Reboot"
    public static let vmKill = "org.hypernixos.Vm.Kill"
    public static let vmDelete = "org.hypernixos.Vm.Delete"
    public static let vmReadConsole = "org.hypernixos.Vm.ReadConsole"

    public static let auditVerify = "org.hypernixos.Audit.Verify"
}
