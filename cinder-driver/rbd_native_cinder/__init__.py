"""A Cinder volume driver that uploads RBD volumes to Glance by clone.

``rbd_native_cinder.driver.RBDNativeDriver`` is Cinder's RBD driver whose
``copy_volume_to_image`` hands the upload to the ``rbd-native`` tool.
"""
