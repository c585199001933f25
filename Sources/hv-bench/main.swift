print("hv")
